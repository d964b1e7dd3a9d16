import { Type } from '@sinclair/typebox';
import { ModelNameSchema, PATTERN_MESSAGE_KEYWORD, SETTING_KEYWORD, VersionSchema, problemResponses, INFERENCE_KINDS } from './common.js';
import type { RequestLimits } from './limits.js';

/**
 * Some character other than white space, control (Cc) or format (Cf, e.g. zero-width space) ones:
 * the tokenizer drops all of those, so a text of only them reaches the model as no text at all.
 */
export const READABLE_TEXT_PATTERN = '[^\\s\\p{Cc}\\p{Cf}]';

export function textSchema(limits: RequestLimits, description: string) {
  return Type.String({
    minLength: 1,
    maxLength: limits.maxTextChars,
    pattern: READABLE_TEXT_PATTERN,
    [SETTING_KEYWORD]: 'MAX_TEXT_CHARS',
    [PATTERN_MESSAGE_KEYWORD]: 'holds only white space or control characters; send some text',
    description: `${description} (1 to ${limits.maxTextChars} characters, not only white space)`,
  });
}

export function topKSchema(limits: RequestLimits, what: string) {
  return Type.Integer({
    minimum: 1,
    maximum: limits.maxTopK,
    default: 1,
    [SETTING_KEYWORD]: 'MAX_TOP_K',
    description: `How many ${what} to return per input, best first (at most ${limits.maxTopK})`,
  });
}

export function inputsOptions(limits: RequestLimits) {
  return {
    minItems: 1,
    maxItems: limits.maxInputsPerRequest,
    [SETTING_KEYWORD]: 'MAX_INPUTS_PER_REQUEST',
  };
}

export function classifyBodySchema(limits: RequestLimits) {
  const text = textSchema(limits, 'Text to classify');
  const pair = Type.Object({ text, text_pair: Type.Optional(textSchema(limits, 'Second text of a sentence pair')) }, { additionalProperties: false });
  return Type.Object(
    {
      model: ModelNameSchema,
      version: Type.Optional({ ...VersionSchema, description: 'Pin a version; default: the active one' }),
      inputs: Type.Array(Type.Union([text, pair], { description: 'a text, or an object {text, text_pair}' }), {
        ...inputsOptions(limits),
        description: `Texts to classify, 1 to ${limits.maxInputsPerRequest}`,
      }),
      top_k: Type.Optional(topKSchema(limits, 'labels')),
    },
    { additionalProperties: false, examples: [{ model: 'support-intent', inputs: ['where is my order?'], top_k: 3 }] },
  );
}

export const ClassifyResponseSchema = Type.Object(
  {
    model: Type.String(),
    version: Type.Integer({ description: 'The version that answered' }),
    results: Type.Array(
      Type.Array(Type.Object({ label: Type.String(), score: Type.Number({ minimum: 0, maximum: 1 }) }), {
        description: 'Labels of one input, highest score first',
      }),
      { description: 'One entry per input, in request order' },
    ),
  },
  { title: 'ClassifyResponse' },
);

export const classifyErrorResponses = problemResponses(...INFERENCE_KINDS);
