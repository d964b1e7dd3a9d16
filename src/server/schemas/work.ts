/** Headers every inference route accepts. */
import { Type } from '@sinclair/typebox';
import type { RequestLimits } from './limits.js';

export const DEADLINE_HEADER = 'x-request-deadline-ms';

export function workHeadersSchema(limits: RequestLimits) {
  return Type.Object({
    [DEADLINE_HEADER]: Type.Optional(
      // Checked in request-work.ts rather than by pattern, so the error can say the bound.
      Type.String({
        description:
          `Milliseconds the client will wait, 1 to ${limits.maxDeadlineMs} (MAX_DEADLINE_MS); ` +
          "default: the server's REQUEST_DEADLINE_MS. Work not done by then is answered 504.",
      }),
    ),
  });
}
