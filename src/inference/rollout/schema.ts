/**
 * The rules of a roll-out plan as a TypeBox schema: the admin routes and the job spec's gate
 * validate them with it, and both describe them in the OpenAPI document from it. The checked
 * type is RolloutRules (registry/types.ts), which the schema must produce.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { RolloutRules } from '../registry/types.js';

export const RolloutRulesSchema = Type.Object(
  {
    min_requests: Type.Integer({ minimum: 1, description: 'Decide once the candidate has this many requests (canary: answered; shadow: replayed)' }),
    min_agreement: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'Shadow only: top-1 (classification) or exact-match (QA) agreement with the active version at least this',
      }),
    ),
    max_error_rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: "The candidate's errors / requests at most this" })),
    max_p99_ratio: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: "The candidate's p99 latency at most this many times the active version's" })),
    on_pass: Type.Union([Type.Literal('promote'), Type.Literal('none')], { default: 'promote', description: 'promote: the candidate becomes active' }),
    on_fail: Type.Union([Type.Literal('abort'), Type.Literal('none')], { default: 'abort', description: 'abort: the plan ends, the active version stays' }),
  },
  { additionalProperties: false, title: 'RolloutRules', description: 'Every threshold given must hold for a pass; decided once per plan, by one replica' },
);

/** Compile-time check that the schema and the state file's type agree. */
export type RolloutRulesInput = Static<typeof RolloutRulesSchema> extends RolloutRules ? Static<typeof RolloutRulesSchema> : never;
