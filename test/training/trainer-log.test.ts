import { describe, expect, it } from 'vitest';
import { trainerWarning } from '../../src/training/trainer-log.js';

describe("the trainer's log lines", () => {
  it('picks out warnings, which npm run distill shows without --verbose, as their message alone', () => {
    const line =
      '2026-11-30 16:05:00,403 WARNING distillery_trainer.checkpoint: ignoring 16 tensors of /d/t/model.safetensors that a BERT of this config does not have: bert.encoder.layer.1.x';
    expect(trainerWarning(line)).toBe('ignoring 16 tensors of /d/t/model.safetensors that a BERT of this config does not have: bert.encoder.layer.1.x');
  });

  it('leaves info lines to --verbose, and errors to the error event that says the same', () => {
    expect(trainerWarning('2026-11-30 16:05:00,403 INFO distillery_trainer: wrote a random classification model')).toBeNull();
    expect(trainerWarning('2026-11-30 16:05:00,403 ERROR distillery_trainer: invalid input: config.json id2label ...')).toBeNull();
    expect(trainerWarning('Traceback (most recent call last): WARNING x: y')).toBeNull();
  });
});
