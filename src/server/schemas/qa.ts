import { Type } from '@sinclair/typebox';
import { ModelNameSchema, SETTING_KEYWORD, VersionSchema, problemResponses, INFERENCE_KINDS } from './common.js';
import type { RequestLimits } from './limits.js';
import { inputsOptions, textSchema, topKSchema } from './classify.js';

export function qaBodySchema(limits: RequestLimits) {
  const item = Type.Object(
    {
      question: textSchema(limits, "The question; only its first max_query_length tokens (the model's config.json, 64 by default) are read, the rest is cut"),
      context: textSchema(limits, 'The passage that may hold the answer'),
    },
    { additionalProperties: false },
  );
  return Type.Object(
    {
      model: ModelNameSchema,
      version: Type.Optional({ ...VersionSchema, description: 'Pin a version; default: the active one' }),
      inputs: Type.Array(item, {
        ...inputsOptions(limits),
        description: `Question/context pairs, 1 to ${limits.maxInputsPerRequest}`,
      }),
      top_k: Type.Optional(topKSchema(limits, 'answers')),
      max_answer_length: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: limits.maxAnswerLength,
          default: Math.min(30, limits.maxAnswerLength),
          [SETTING_KEYWORD]: 'MAX_ANSWER_LENGTH',
          description: `Longest answer span in tokens (at most ${limits.maxAnswerLength})`,
        }),
      ),
      allow_no_answer: Type.Optional(
        Type.Boolean({
          default: true,
          description:
            'true: an empty result ("no answer") when the model scores "no answer" above every span (SQuAD 2.0); false: always the best spans, as Hugging Face\'s pipeline does without handle_impossible_answer',
        }),
      ),
    },
    {
      additionalProperties: false,
      examples: [{ model: 'support-qa', inputs: [{ question: 'Where is the cafe?', context: 'The cafe is in Paris.' }] }],
    },
  );
}

export const QaResponseSchema = Type.Object(
  {
    model: Type.String(),
    version: Type.Integer({ description: 'The version that answered' }),
    results: Type.Array(
      Type.Array(
        Type.Object({
          answer: Type.String({ description: 'context.slice(start, end)' }),
          score: Type.Number({ minimum: 0, maximum: 1 }),
          start: Type.Integer({ minimum: 0, description: 'Offset of the first character in context (UTF-16 code units, as JavaScript indexes strings)' }),
          end: Type.Integer({ minimum: 0, description: 'Offset just past the last character in context' }),
        }),
        { description: 'Answers for one input, best first; empty when the context holds none' },
      ),
      { description: 'One entry per input, in request order' },
    ),
  },
  { title: 'QaResponse' },
);

export const qaErrorResponses = problemResponses(...INFERENCE_KINDS);
