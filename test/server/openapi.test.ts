import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPENAPI_PATH, formatDocument, openApiDocument } from '../../src/server/openapi.js';

describe('openapi/openapi.json', () => {
  it('is the document the route schemas generate (run npm run openapi when this fails)', async () => {
    const checkedIn = await readFile(path.resolve(import.meta.dirname, '../..', OPENAPI_PATH), 'utf8');
    expect(formatDocument(await openApiDocument())).toBe(checkedIn);
  });

  it('declares problem+json error responses, security and request limits', async () => {
    const doc = (await openApiDocument()) as any;
    const classify = doc.paths['/v1/classify'].post;
    expect(Object.keys(classify.responses).sort()).toEqual(['200', '400', '401', '404', '409', '413', '415', '422', '429', '500', '503', '504']);
    expect(classify.responses['429'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    expect(classify.security).toEqual([{ bearerAuth: [] }]);
    expect(classify.requestBody.content['application/json'].schema.properties.inputs).toMatchObject({ maxItems: 64, 'x-setting': 'MAX_INPUTS_PER_REQUEST' });
    expect(doc.paths['/v1/models/{name}/activate'].post.responses['422']).toBeDefined();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.paths)).not.toContain('/docs');
  });
});
