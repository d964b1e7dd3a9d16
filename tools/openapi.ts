/**
 * Writes openapi/openapi.json from the route schemas (npm run openapi).
 * With --check it writes nothing and exits 1 when the file is out of date (for CI).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OPENAPI_PATH, formatDocument, openApiDocument } from '../src/server/openapi.js';

const file = path.resolve(import.meta.dirname, '..', OPENAPI_PATH);
const text = formatDocument(await openApiDocument());

if (process.argv.includes('--check')) {
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current !== text) {
    console.error(`${OPENAPI_PATH} is out of date: run npm run openapi and commit the result`);
    process.exit(1);
  }
  console.log(`${OPENAPI_PATH} is up to date`);
} else {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  console.log(`wrote ${OPENAPI_PATH}`);
}
