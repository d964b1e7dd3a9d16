/** Shape of an intent definition: a label, its utterance templates and how to dress them up. */

/** Which two-sentence context may be put in front of a message ("I ordered ... . Where is it?"). */
export type ContextKind = 'order' | 'account' | 'payment' | 'none';

export interface IntentSpec {
  /** snake_case label written to the data files. */
  label: string;
  /** Templates in the syntax of ../template.ts; ~25% of them are held out for the test split. */
  templates: readonly string[];
  context: ContextKind;
  /** Small talk (greeting, thanks, goodbye): no filler words, which would change the meaning. */
  smallTalk?: boolean;
}

export const OUT_OF_SCOPE = 'out_of_scope';
