/**
 * The parameter rule, for every route: walking the OpenAPI document, every query and path
 * parameter is typed, a parameter (or body field) with a default is not required, and every
 * parameter that is not a string is sent as the text it is on the wire, through HTTP, and must be
 * converted (a valid value is not refused; an invalid one gets a 400 naming the parameter).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/server/openapi.js';
import { ADMIN_KEY, bearer, type JobData, jobData, startServer, type TestServer } from './helpers.js';

interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
  schema: { type?: string; default?: unknown; minimum?: number; enum?: unknown[]; anyOf?: { enum?: unknown[]; type?: string }[] };
}
type Doc = { paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: unknown }> } }>> };

let s: TestServer;
let doc: Doc;
let data: JobData;
let jobId: string;

/** A real value for each path parameter, so the request reaches the handler. */
const pathValue = (name: string): string => ({ name: 'tiny-intent', id: jobId })[name] ?? 'x';

/** A valid value of a typed parameter, as the text a client sends. */
function validText(p: Parameter): string {
  const sch = p.schema;
  if (sch.default !== undefined) return String(sch.default);
  if (sch.minimum !== undefined) return String(sch.minimum);
  const literal = sch.enum?.[0] ?? sch.anyOf?.[0]?.enum?.[0];
  if (literal !== undefined) return String(literal);
  return sch.type === 'boolean' ? 'true' : '1';
}

function operations(): { route: string; method: string; template: string; params: Parameter[] }[] {
  return Object.entries(doc.paths).flatMap(([template, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ route: `${method} ${template}`, method, template, params: op.parameters ?? [] })),
  );
}

function urlFor(template: string, query: Record<string, string> = {}): string {
  const filled = template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(pathValue(name)));
  const qs = new URLSearchParams(query).toString();
  return qs ? `${filled}?${qs}` : filled;
}

beforeAll(async () => {
  data = await jobData('param-model');
  s = await startServer({ ADMIN_API_KEYS: ADMIN_KEY, DATA_DIR: data.dir });
  doc = (await openApiDocument()) as Doc;
  jobId = (await s.app.inject({ method: 'POST', url: '/v1/jobs', headers: bearer(ADMIN_KEY), payload: data.spec() })).json().id;
});

afterAll(async () => {
  await s?.close();
  await data?.remove();
});

describe('query and path parameters of every route', () => {
  it('are typed, and optional where they have a default', () => {
    for (const { route, params } of operations()) {
      for (const p of params.filter((q) => q.in !== 'header')) {
        const typed = p.schema.type !== undefined || (p.schema.anyOf ?? []).every((b) => b.type !== undefined);
        expect(typed, `${route} ${p.in} ${p.name} has a type`).toBe(true);
        if (p.schema.default !== undefined) expect(p.required ?? false, `${route} ${p.name} has a default, so it is optional`).toBe(false);
      }
    }
  });

  it('that are not strings are converted from their text through HTTP', async () => {
    let checked = 0;
    for (const { route, method, template, params } of operations()) {
      if (method !== 'get' && method !== 'delete') continue; // bodies of other methods are not the point here
      for (const p of params.filter((q) => q.in === 'query' && q.schema.type !== 'string' && q.schema.type !== undefined)) {
        const ok = await s.app.inject({ method: method.toUpperCase() as 'GET', url: urlFor(template, { [p.name]: validText(p) }), headers: bearer(ADMIN_KEY) });
        expect(ok.statusCode, `${route} ?${p.name}=${validText(p)}: ${ok.body.slice(0, 200)}`).not.toBe(400);
        const bad = await s.app.inject({
          method: method.toUpperCase() as 'GET',
          url: urlFor(template, { [p.name]: 'not-a-value' }),
          headers: bearer(ADMIN_KEY),
        });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().errors.map((e: { field: string }) => e.field)).toContain(`querystring/${p.name}`);
        checked++;
      }
    }
    expect(checked, 'the document has typed non-string query parameters (limit, offset)').toBeGreaterThanOrEqual(2);
  });

  it('every path parameter is validated by its schema through HTTP', async () => {
    for (const { route, method, template, params } of operations()) {
      for (const p of params.filter((q) => q.in === 'path')) {
        const url = template.replace(`{${p.name}}`, 'not%20valid').replace(/\{(\w+)\}/g, (_m, n: string) => pathValue(n));
        const res = await s.app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          headers: { ...bearer(ADMIN_KEY), 'content-type': 'application/json' },
          ...(method === 'post' ? { payload: '{}' } : {}),
        });
        expect(res.statusCode, `${route} with ${p.name}="not valid"`).toBe(400);
        expect(
          res.json().errors.map((e: { field: string }) => e.field),
          route,
        ).toContain(`params/${p.name}`);
      }
    }
  });

  it('no request body field with a default is required', () => {
    const offenders: string[] = [];
    const visit = (node: unknown, at: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const sch = node as { properties?: Record<string, { default?: unknown }>; required?: string[] };
      for (const name of Array.isArray(sch.required) ? sch.required : []) if (sch.properties?.[name]?.default !== undefined) offenders.push(`${at}/${name}`);
      for (const [k, v] of Object.entries(node)) visit(v, `${at}/${k}`);
    };
    for (const { route, method, template } of operations()) visit(doc.paths[template]![method]!.requestBody, route);
    expect(offenders).toEqual([]);
  });
});
