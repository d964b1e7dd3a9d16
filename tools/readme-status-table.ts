/**
 * Writes the README's status table from the one status table (src/server/status-table.ts),
 * between its markers. `npm run readme:statuses`; test/server/statuses.test.ts fails when the
 * README is not what this would write.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withStatusTable } from '../src/server/status-table.js';

const readme = path.resolve(import.meta.dirname, '..', 'README.md');
await writeFile(readme, withStatusTable(await readFile(readme, 'utf8')));
