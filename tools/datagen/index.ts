/** Public surface of the seeded support-data generator. */
export {
  buildDatasets,
  DatagenError,
  DEFAULT_SEED,
  FILES,
  generateDatasets,
  GENERATOR_VERSION,
  type DatasetCounts,
  type Datasets,
  type DatasetSummary,
  type GenerateOptions,
} from './generate.js';
export {
  approxTokens,
  FACT_KINDS,
  generatePassages,
  PASSAGE_STYLES,
  TOPICS,
  toSquad,
  verifySquad,
  wordCount,
  type FactKind,
  type Passage,
  type PassageStyle,
  type QaInfo,
  type QaSplits,
  type SquadDocument,
} from './help-center/index.js';
export { generateIntents, INTENTS, OUT_OF_SCOPE, type IntentExample, type IntentSplits } from './intents/index.js';
export { Rng } from './prng.js';
