/**
 * Issue 14's numbered cases, each through HTTP against a real server, real Redis (a queue prefix
 * of this file's own, no worker, so submitted jobs stay queued) and real tiny models:
 * 1. integer query parameters arrive as text and are converted; they are optional in OpenAPI;
 * 2. a body with __proto__ / constructor.prototype is refused naming the key, not "not valid JSON";
 * 3. cancelling an ended job answers 409; two racing activations report distinct previous versions;
 * 4. 415 and 422 of /v1/classify and /v1/qa, and the question truncation, are documented;
 * 5. an empty body with content-type: application/json is accepted where a route takes no body.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/server/openapi.js';
import { parseJobSpec } from '../../src/training/job-spec.js';
import { ADMIN_KEY, bearer, type JobData, jobData, startServer, type TestServer } from './helpers.js';

let s: TestServer;
let data: JobData;
const admin = bearer(ADMIN_KEY);
const spec = () => data.spec();

beforeAll(async () => {
  data = await jobData('contract-model');
  s = await startServer({ ADMIN_API_KEYS: ADMIN_KEY, DATA_DIR: data.dir });
});

afterAll(async () => {
  await s?.close();
  await data?.remove();
});

async function submit(): Promise<string> {
  const res = await s.app.inject({ method: 'POST', url: '/v1/jobs', headers: admin, payload: spec() });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id as string;
}

describe('1. query parameters are text on the wire', () => {
  it('limit and offset given in the URL are converted and applied', async () => {
    await submit();
    await submit();
    const limited = await s.app.inject({ url: '/v1/jobs?limit=1', headers: admin });
    expect(limited.statusCode, limited.body).toBe(200);
    expect(limited.json()).toMatchObject({ limit: 1, offset: 0 });
    expect(limited.json().jobs).toHaveLength(1);
    const offset = await s.app.inject({ url: '/v1/jobs?offset=1&limit=10', headers: admin });
    expect(offset.statusCode, offset.body).toBe(200);
    expect(offset.json()).toMatchObject({ limit: 10, offset: 1 });
    expect(offset.json().jobs).toHaveLength(offset.json().total - 1);
  });

  it('a value that is not an integer gets a 400 that names the parameter', async () => {
    const res = await s.app.inject({ url: '/v1/jobs?limit=ten', headers: admin });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'querystring/limit', message: 'must be an integer' }]);
  });

  it('OpenAPI marks both as optional', async () => {
    const doc = (await openApiDocument()) as { paths: Record<string, Record<string, { parameters: { name: string; required?: boolean }[] }>> };
    const params = doc.paths['/v1/jobs']!.get!.parameters;
    for (const name of ['limit', 'offset']) expect(params.find((p) => p.name === name)?.required ?? false).toBe(false);
  });
});

describe('2. prototype-poisoning keys', () => {
  for (const [what, body, key] of [
    ['__proto__', '{"model":"tiny-intent","inputs":["hi"],"__proto__":{"x":1}}', '__proto__'],
    ['constructor.prototype', '{"model":"tiny-intent","inputs":["hi"],"constructor":{"prototype":{"x":1}}}', 'constructor.prototype'],
  ] as const) {
    it(`a body with ${what} is refused with a detail naming the key`, async () => {
      const res = await s.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'application/json' }, payload: body });
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).not.toMatch(/not valid JSON/);
      expect(res.json().detail).toContain(key);
    });
  }

  it('malformed JSON still says it is not valid JSON', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'application/json' }, payload: '{"model":' });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/not valid JSON/);
  });
});

describe('3. repeats and races of admin actions', () => {
  it('cancelling a job that is already cancelled answers 409', async () => {
    const id = await submit();
    const first = await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: admin });
    expect(first.statusCode).toBe(202);
    expect(first.json().state).toBe('cancelled');
    const again = await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: admin });
    expect(again.statusCode).toBe(409);
    expect(again.json().detail).toMatch(/already cancelled/);
  });

  it('two racing cancels of one queued job: one 202, one 409', async () => {
    const id = await submit();
    const answers = await Promise.all([0, 1].map(() => s.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: admin })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 409]);
  });

  it('two racing activations of the same version: one changed with the real previous, one not', async () => {
    const before = (await s.app.inject({ url: '/v1/models/tiny-intent', headers: admin })).json();
    const other = before.versions.map((v: { version: number }) => v.version).find((v: number) => v !== before.active_version);
    expect(other, 'the tiny registry has a second version').toBeDefined();
    try {
      const answers = await Promise.all(
        [0, 1].map(() => s.app.inject({ method: 'POST', url: '/v1/models/tiny-intent/activate', headers: admin, payload: { version: other } })),
      );
      const bodies = answers.map((a) => a.json());
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200]);
      const changed = bodies.find((b) => b.changed);
      const repeat = bodies.find((b) => !b.changed);
      expect(changed).toMatchObject({ previous_version: before.active_version, active_version: other, changed: true });
      expect(repeat).toMatchObject({ previous_version: other, active_version: other, changed: false });
    } finally {
      await s.app.inject({ method: 'POST', url: '/v1/models/tiny-intent/activate', headers: admin, payload: { version: before.active_version } });
    }
  });
});

describe('4. every status of the inference routes is documented', () => {
  it('/v1/classify and /v1/qa list 415 and 422 in OpenAPI', async () => {
    const doc = (await openApiDocument()) as { paths: Record<string, { post: { responses: Record<string, unknown> } }> };
    for (const route of ['/v1/classify', '/v1/qa']) {
      expect(Object.keys(doc.paths[route]!.post.responses)).toEqual(expect.arrayContaining(['415', '422']));
    }
  });

  it('the question truncation is stated in OpenAPI and the README', async () => {
    const doc = (await openApiDocument()) as any;
    const question = doc.paths['/v1/qa'].post.requestBody.content['application/json'].schema.properties.inputs.items.properties.question;
    expect(question.description).toMatch(/max_query_length/);
    const readme = await fs.readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toMatch(/questions? longer than[^.]*max_query_length/i);
    expect(readme).toMatch(/\b415\b/);
    expect(readme).toMatch(/\b422\b/);
  });
});

describe('5. content-type: application/json without a body', () => {
  it('DELETE /v1/jobs/{id} works', async () => {
    const id = await submit();
    const res = await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: { ...admin, 'content-type': 'application/json' } });
    expect(res.statusCode, res.body).toBe(202);
  });

  it('GET routes work too', async () => {
    const res = await s.app.inject({ url: '/v1/models', headers: { ...admin, 'content-type': 'application/json' } });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('a route that needs a body says the body is missing', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/body/);
    expect(res.json().detail).not.toMatch(/cannot be empty when content-type/);
  });
});

describe('issue 15, 7: every problem of a job spec over HTTP', () => {
  it('a typo in task, a misspelt field and a wrong type are all listed, each saying what is right', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/v1/jobs', headers: admin, payload: { ...spec(), task: 'clasification', studnet: {}, seed: 'x' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().type).toBe('urn:distillery:problem:invalid-spec');
    expect(res.json().errors).toEqual(
      expect.arrayContaining([
        { field: 'body/task', message: 'must be "classification" or "qa", not "clasification"' },
        { field: 'body/studnet', message: 'is not a known field; did you mean "student"?' },
        { field: 'body/seed', message: 'must be an integer, not "x"' },
      ]),
    );
  });

  it('an empty body is refused as a spec that must be an object', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/v1/jobs', headers: { ...admin, 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/must be a JSON object/);
  });
});

describe('issue 15, 10: the POST /v1/jobs example runs as it stands', () => {
  it("is the README's example spec, valid and free of placeholders", async () => {
    const doc = (await openApiDocument()) as any;
    const media = doc.paths['/v1/jobs'].post.requestBody.content['application/json'];
    const example = media.example ?? Object.values(media.examples ?? {})[0];
    const file = JSON.parse(await fs.readFile(path.resolve(import.meta.dirname, '../../examples/distill-support-intent.json'), 'utf8'));
    expect(example).toEqual(file);
    expect(() => parseJobSpec(example)).not.toThrow();
    expect(JSON.stringify(example)).not.toMatch(/"string"/);
  });

  it('the README\'s full spec under "The job spec" is accepted', async () => {
    const readme = await fs.readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const block = /### The job spec[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    expect(() => parseJobSpec(JSON.parse(block!))).not.toThrow();
  });
});

describe('the repeat rule holds for every state-changing admin route', () => {
  /**
   * A roll-out plan put twice and ended twice: the repeat of each answers 200, changed: false,
   * and leaves the plan as the first left it (same plan id; none after the ends).
   */
  async function planRepeats(role: 'canary' | 'shadow', share: Record<string, number>): Promise<void> {
    const url = `/v1/models/tiny-intent/${role}`;
    const model = (await s.app.inject({ url: '/v1/models/tiny-intent', headers: admin })).json();
    const candidate = model.versions.map((v: { version: number }) => v.version).find((v: number) => v !== model.active_version);
    const put = () => s.app.inject({ method: 'PUT', url, headers: admin, payload: { version: candidate, ...share } });
    const end = () => s.app.inject({ method: 'DELETE', url, headers: admin });
    const first = await put();
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ role, changed: true, plan: { version: candidate } });
    const again = await put();
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ changed: false, plan: { id: first.json().plan.id } });
    const ended = await end();
    expect(ended.statusCode).toBe(200);
    expect(ended.json()).toMatchObject({ changed: true, plan: null, previous: { id: first.json().plan.id } });
    const endedAgain = await end();
    expect(endedAgain.statusCode).toBe(200);
    expect(endedAgain.json()).toMatchObject({ changed: false, plan: null, previous: null });
  }

  /** Route (as OpenAPI names it) → a check that a repeat of the action follows the rule. */
  const REPEATS: Record<string, () => Promise<void>> = {
    'post /v1/models/{name}/activate': async () => {
      const active = (await s.app.inject({ url: '/v1/models/tiny-intent', headers: admin })).json().active_version;
      const res = await s.app.inject({ method: 'POST', url: '/v1/models/tiny-intent/activate', headers: admin, payload: { version: active } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ previous_version: active, active_version: active, changed: false });
    },
    'put /v1/models/{name}/canary': () => planRepeats('canary', { weight: 0.2 }),
    'delete /v1/models/{name}/canary': () => planRepeats('canary', { weight: 0.2 }),
    'put /v1/models/{name}/shadow': () => planRepeats('shadow', { sample: 0.5 }),
    'delete /v1/models/{name}/shadow': () => planRepeats('shadow', { sample: 0.5 }),
    'delete /v1/jobs/{id}': async () => {
      const id = await submit();
      expect((await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: admin })).statusCode).toBe(202);
      expect((await s.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: admin })).statusCode).toBe(409);
    },
  };

  it('every admin route that changes state (all but GET and job submission) has its repeat check, and each holds', async () => {
    const doc = (await openApiDocument()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const admin403 = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([m, op]) => m !== 'get' && '403' in op.responses)
        .map(([m]) => `${m} ${p}`),
    );
    const changing = admin403.filter((r) => r !== 'post /v1/jobs');
    expect(changing.filter((r) => !REPEATS[r])).toEqual([]);
    for (const route of changing) await REPEATS[route]!();
  });
});
