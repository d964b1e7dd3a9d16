/**
 * OpenAPI from the route schemas (@fastify/swagger) and Swagger UI at /docs, /docs/json.
 * Must be registered before the routes so it sees them; its own routes need no key.
 */
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export interface DocsPluginOptions {
  /** Package version shown in the document. */
  version: string;
}

export const API_DESCRIPTION = [
  'Distillery serves compressed (distilled, INT8) BERT models for intent classification and',
  'extractive question answering. Errors are application/problem+json (RFC 9457).',
  'Send API keys as `Authorization: Bearer <key>`: inference routes need a key from API_KEYS or',
  'ADMIN_API_KEYS when API_KEYS is set; admin routes always need a key from ADMIN_API_KEYS.',
  "Bounds shown on request fields are this server's settings (x-setting names the variable).",
].join(' ');

/**
 * A copy of the document where no property with a default is listed as required: a client may
 * leave it out and gets the default (TypeBox lists such properties as required because the
 * server fills them before it checks).
 */
export function defaultedNotRequired<T>(doc: T): T {
  const copy = structuredClone(doc);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const schema = node as { properties?: Record<string, { default?: unknown }>; required?: string[] };
    if (schema.properties && Array.isArray(schema.required)) {
      const props = schema.properties;
      schema.required = schema.required.filter((name) => props[name]?.default === undefined);
      if (schema.required.length === 0) delete schema.required;
    }
    Object.values(node).forEach(visit);
  };
  visit(copy);
  return copy;
}

async function docsPlugin(app: FastifyInstance, opts: DocsPluginOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Distillery', version: opts.version, description: API_DESCRIPTION },
      tags: [
        { name: 'inference', description: 'Classify texts and answer questions' },
        { name: 'models', description: 'Served models and their versions' },
        { name: 'admin', description: 'Promote or roll back model versions (admin key)' },
        { name: 'operations', description: 'Health, readiness and metrics' },
      ],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API_KEYS or ADMIN_API_KEYS' } },
      },
    },
    transformObject: (doc) => ('openapiObject' in doc ? defaultedNotRequired(doc.openapiObject) : doc.swaggerObject),
    // Name shared schemas by their $id (components/schemas/Problem) instead of def-0, def-1.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(async (ui) => {
    ui.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), auth: 'none' };
      route.schema = { ...(route.schema ?? {}), hide: true };
    });
    await ui.register(swaggerUi, { routePrefix: '/docs' });
  });
}

export default fp(docsPlugin, { name: 'distillery-docs', fastify: '5.x' });
