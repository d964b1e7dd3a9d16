/** ServerConfig: defaults, and a ConfigError naming the variable for each bad value. */
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader, loadServerConfig } from '../../src/config.js';

const load = (env: Record<string, string>) => loadServerConfig(new EnvReader(env));

describe('ServerConfig', () => {
  it('has sane defaults', () => {
    expect(load({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      apiKeys: [],
      adminApiKeys: [],
      bodyLimitBytes: 1_048_576,
      requestTimeoutMs: 30_000,
      maxInputsPerRequest: 64,
      maxTextChars: 20_000,
      maxTopK: 20,
      maxAnswerLength: 64,
      maxDeadlineMs: 60_000,
      logLevel: 'info',
      shutdownGraceMs: 10_000,
    });
  });

  it('reads comma-separated keys', () => {
    const keys = load({ API_KEYS: ' aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbb ', ADMIN_API_KEYS: 'cccccccccccccccc' });
    expect(keys.apiKeys).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(keys.adminApiKeys).toEqual(['cccccccccccccccc']);
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', 'http'],
    ['API_KEYS', 'short'],
    ['ADMIN_API_KEYS', 'x'],
    ['BODY_LIMIT_BYTES', '10'],
    ['MAX_INPUTS_PER_REQUEST', '0'],
    ['MAX_TEXT_CHARS', '-1'],
    ['MAX_TOP_K', '2.5'],
    ['MAX_ANSWER_LENGTH', '0'],
    ['MAX_DEADLINE_MS', '0'],
    ['LOG_LEVEL', 'loud'],
    ['SHUTDOWN_GRACE_MS', 'soon'],
  ])('%s=%s is refused with a message naming it', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(ConfigError);
    expect(() => load({ [name]: value })).toThrow(name);
  });
});
