/** Headers every inference route accepts. */
import { Type } from '@sinclair/typebox';
import type { RequestLimits } from './limits.js';

export const DEADLINE_HEADER = 'x-request-deadline-ms';
export const ROUTING_KEY_HEADER = 'x-routing-key';
/** Every inference answer names the version that produced it. */
export const MODEL_VERSION_HEADER = 'x-model-version';

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
    [ROUTING_KEY_HEADER]: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description:
          'Sticky routing during a canary roll-out (e.g. a conversation id): requests with the same key are answered ' +
          'by the same version while the plan lasts. Without it, unpinned requests are split at random by weight.',
      }),
    ),
  });
}
