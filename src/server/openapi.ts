/**
 * The OpenAPI document of the API as the default settings shape it. tools/openapi.ts writes it
 * to openapi/openapi.json and a test compares the two, so the checked-in file never drifts.
 */
import { EnvReader, loadServerConfig, type ServerConfig } from '../config.js';
import { createMetrics } from '../metrics.js';
import { buildApp } from './app.js';
import type { ServerEngine } from './engine.js';
import type { ServerJobs } from './routes/jobs.js';

export const OPENAPI_PATH = 'openapi/openapi.json';

/** Routes are only described, never called, while the document is generated. */
const describeOnly = (): never => {
  throw new Error('no inference engine: this app instance only describes the API');
};
/** An engine for an app whose routes are never called (the document; tests of what precedes routing). */
export const noEngine: ServerEngine = {
  classify: describeOnly,
  answer: describeOnly,
  listModels: describeOnly,
  getModel: describeOnly,
  activate: describeOnly,
  putRollout: describeOnly,
  endRollout: describeOnly,
  readiness: describeOnly,
};
const noJobs: ServerJobs = {
  submit: describeOnly,
  get: describeOnly,
  list: describeOnly,
  cancel: describeOnly,
  logs: describeOnly,
  history: describeOnly,
  spec: describeOnly,
};

export async function openApiDocument(server: ServerConfig = loadServerConfig(new EnvReader({}))): Promise<unknown> {
  const metrics = createMetrics({ defaultMetrics: false });
  // The queue dashboard is left out: its routes are hidden from the document anyway.
  const app = await buildApp({ config: { server }, engine: noEngine, metrics, jobs: noJobs });
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
    metrics.close();
  }
}

/** The file form: stable key order from the schemas, two-space indent, trailing newline. */
export function formatDocument(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
