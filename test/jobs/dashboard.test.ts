/** The operators' queue dashboard (Bull Board) at /admin/queues: there, and behind the admin key. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, INFERENCE_KEY, startServer, type TestServer } from '../server/helpers.js';

let s: TestServer;
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

  it('is not part of the public API document', async () => {
    const doc = (await (await fetch(`${s.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/admin'))).toBe(false);
  });
});
