/**
 * The README's example job, run as a new user runs it: the bundled data prepared by
 * `npm run models:build -- --prepare-only`, then `npm run distill -- --spec
 * examples/distill-support-intent.json`, at full size. Its INT8 student must pass the spec's own
 * quality gate, the version must be activated, and a server on that registry must serve it.
 * (Minutes on a 2-core CPU: the example is sized for that.)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceEngine, type InferenceEngine } from '../../src/inference/index.js';
import { testConfig } from '../inference/helpers.js';

const EXAMPLE = 'examples/distill-support-intent.json';
let root: string;
let env: Record<string, string>;
let engine: InferenceEngine | undefined;

async function run(entry: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-example-'));
  env = { DATA_DIR: path.join(root, 'data'), MODEL_DIR: path.join(root, 'models'), WORK_DIR: path.join(root, 'work') };
  const prepared = await run('tools/build-models.ts', ['--prepare-only']);
  expect(prepared.code, prepared.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await engine?.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('the README example job', () => {
  it('passes its quality gate and its version is activated and served', async () => {
    const spec = JSON.parse(await fs.readFile(EXAMPLE, 'utf8')) as { model: string; gate: { max_drop: number } };
    const result = await run('src/training/cli.ts', ['--spec', EXAMPLE, '--job-id', 'readme-example']);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const out = JSON.parse(result.stdout) as {
      model: string;
      version: number;
      gate: { passed: boolean; activated: boolean; reason: string };
      metrics: Record<string, { accuracy: number }>;
    };
    expect(out.gate, out.gate.reason).toMatchObject({ passed: true, activated: true });
    expect(out.metrics.teacher!.accuracy - out.metrics.student_int8!.accuracy).toBeLessThanOrEqual(spec.gate.max_drop);
    expect(out).toMatchObject({ model: spec.model, version: 1 });
    // Completed: its work folder is gone, the registry holds everything.
    expect(existsSync(path.join(env.WORK_DIR!, 'jobs', 'readme-example'))).toBe(false);

    engine = createInferenceEngine({
      config: { paths: { modelDir: env.MODEL_DIR! }, inference: testConfig({ BUCKETS: '16,32,64', MAX_BATCH_TOKENS: '2048', WARMUP: 'false' }) },
      logger: pino({ level: 'silent' }),
    });
    await engine.start();
    const served = await engine.classify({ model: spec.model, inputs: ['where is my order #A-10442?'], topK: 1 });
    expect(served.version).toBe(1);
    expect(served.results[0]![0]!.label).toBe('order_status');
  }, 1_800_000);
});
