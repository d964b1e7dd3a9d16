/** The operators' queue dashboard (Bull Board) at /admin/queues: there, and behind the admin key. */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, INFERENCE_KEY, startServer, type TestServer } from '../server/helpers.js';

let s: TestServer;

/**
 * A GET that goes out exactly as written: fetch resolves dot segments in the path first, and
 * turns a request with If-None-Match into one that no cache may answer.
 */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${s.url}${path}`, { path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
beforeAll(async () => {
  s = await startServer({ API_KEYS: INFERENCE_KEY, ADMIN_API_KEYS: ADMIN_KEY });
});
afterAll(async () => {
  await s?.close();
});

describe('/admin/queues', () => {
  it('refuses callers without the admin key', async () => {
    expect((await fetch(`${s.url}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${s.url}/admin/queues`, { headers: bearer(INFERENCE_KEY) })).status).toBe(403);
    expect((await fetch(`${s.url}/admin/queues/api/queues`, { headers: bearer(INFERENCE_KEY) })).status).toBe(403);
  });

  it('tells a wrong key from a missing one', async () => {
    const none = (await (await fetch(`${s.url}/admin/queues`)).json()) as { detail: string };
    expect(none.detail).toMatch(/needs an admin key: send Authorization: Bearer <key>/);
    const wrong = await fetch(`${s.url}/admin/queues`, { headers: bearer('not-a-key-of-this-server-0000') });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { detail: string }).detail).toMatch(/the key sent is not an admin key of this server/);
  });

  it('serves the dashboard and its queue API to an admin', async () => {
    const page = await fetch(`${s.url}/admin/queues`, { headers: bearer(ADMIN_KEY) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const api = await fetch(`${s.url}/admin/queues/api/queues`, { headers: bearer(ADMIN_KEY) });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name)).toContain('distill');
  });

  it("serves the board's static files, and its actions with and without a JSON body", async () => {
    const headers = bearer(ADMIN_KEY);
    const page = await (await fetch(`${s.url}/admin/queues`, { headers })).text();
    const script = /<script[^>]*src="([^"]+\.js)"/.exec(page)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${s.url}/admin/queues/${script}`, { headers });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);

    const queue = async () =>
      (
        (await (await fetch(`${s.url}/admin/queues/api/queues?activeQueue=distill&status=paused`, { headers })).json()) as {
          queues: Array<{ name: string; isPaused: boolean; jobs: Array<{ name: string; data: unknown }> }>;
        }
      ).queues.find((q) => q.name === 'distill');
    expect((await fetch(`${s.url}/admin/queues/api/queues/distill/pause`, { method: 'PUT', headers })).status).toBe(200);
    expect((await queue())?.isPaused).toBe(true);
    const add = await fetch(`${s.url}/admin/queues/api/queues/distill/add`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'dashboard-probe', data: { note: 'café ✓' } }),
    });
    expect(add.status).toBe(200);
    expect((await queue())?.jobs).toContainEqual(expect.objectContaining({ name: 'dashboard-probe', data: { note: 'café ✓' } }));
    expect((await fetch(`${s.url}/admin/queues/api/queues/distill/resume`, { method: 'PUT', headers })).status).toBe(200);
    expect((await queue())?.isPaused).toBe(false);
  });

  it('refuses paths that are not plain, so no dot segment reaches the board past the checks on the path', async () => {
    for (const path of [
      '/admin/queues/static/../api/queues',
      '/admin/queues/%2e%2e/queues/api/queues',
      '/admin/queues/static/%2E%2E/%2e%2e/v1/models',
      '/admin/queues/./api/queues',
    ]) {
      const res = await rawGet(path, bearer(ADMIN_KEY));
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body).detail, path).toMatch(/is not plain: dot segments/);
    }
  });

  it('answers as the board does: empty JSON bodies, HEAD lengths, 304s, and problem documents for unknown paths', async () => {
    const headers = bearer(ADMIN_KEY);
    // An empty body is no body, whatever content type says so.
    const resume = await fetch(`${s.url}/admin/queues/api/queues/distill/resume`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
    });
    expect(resume.status).toBe(200);

    const page = await fetch(`${s.url}/admin/queues`, { headers });
    const pageLength = (await page.arrayBuffer()).byteLength;
    const head = await fetch(`${s.url}/admin/queues`, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(pageLength);

    const script = /<script[^>]*src="([^"]+\.js)"/.exec(await (await fetch(`${s.url}/admin/queues`, { headers })).text())?.[1];
    const asset = await fetch(`${s.url}/admin/queues/${script}`, { headers });
    const etag = asset.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await rawGet(`/admin/queues/${script}`, { ...headers, 'if-none-match': etag ?? '' });
    expect(again.status).toBe(304);
    expect(again.headers['content-type']).toBeUndefined();

    const unknown = await fetch(`${s.url}/admin/queues/api/queues/distill`, { method: 'DELETE', headers });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const long = await fetch(`${s.url}/admin/queues/api/queues/distill/${'a'.repeat(200)}`, { headers });
    expect(long.status).toBe(414);
    expect(long.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(long.headers.get('x-request-id')).toBe(((await long.json()) as { instance: string }).instance);
  });

  it('a job the board adds without a spec does not break the job list', async () => {
    const headers = bearer(ADMIN_KEY);
    expect((await fetch(`${s.url}/admin/queues/api/queues/distill/add`, { method: 'POST', headers })).status).toBe(200);
    const list = await fetch(`${s.url}/v1/jobs`, { headers });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { jobs: Array<{ model: string; task: string }> };
    expect(body.jobs).toContainEqual(expect.objectContaining({ model: '', task: '' }));
  });

  it('is not part of the public API document', async () => {
    const doc = (await (await fetch(`${s.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/admin'))).toBe(false);
  });
});
