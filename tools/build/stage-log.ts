/**
 * Follows one trainer run's events: prints progress lines for the person watching the build and
 * keeps what models/README.md reports per stage (wall seconds, evaluations in step order).
 */
import type { TrainerEvent } from '../../src/training/trainer-events.js';

export interface StageRecord {
  /** Wall-clock seconds from the stage's "started" to its "completed" event. */
  seconds: number;
  /** Every evaluation the stage reported, in step order: the learning curve. */
  evals: { step: number; role: string; metrics: Record<string, number> }[];
  /** The losses of the stage's last progress report (stages without evaluations have only these). */
  last_losses?: Record<string, number>;
}

export class StageLog {
  readonly stages: Record<string, StageRecord> = {};
  /** Where the trainer ran ("cpu", "cuda:0") and in which precision, from its start event. */
  device: string | undefined;
  private startedAt = new Map<string, number>();
  private lastPrint = 0;

  /**
   * @param name prefix of the progress lines
   * @param o.onStageCompleted called once a stage's "completed" event arrives, with its record in
   *   place (the build keeps the base as soon as general_distill completes, not when the job ends)
   * @param o.quiet no progress lines (replaying a finished run's events)
   */
  constructor(
    private readonly name: string,
    private readonly o: { onStageCompleted?: (stage: string) => void; quiet?: boolean } = {},
  ) {}

  /** The onEvent callback for runDistillJob / runTraining. */
  readonly onEvent = (e: TrainerEvent): void => {
    const out = (line: string) => {
      if (!this.o.quiet) process.stderr.write(`[${this.name}] ${line}\n`);
    };
    if (e.type === 'start') {
      this.device = `${e.device} (${e.precision})`;
      out(`trainer on ${this.device}`);
    } else if (e.type === 'stage') {
      out(`stage ${e.stage} ${e.status}`);
      if (e.status === 'started') {
        this.startedAt.set(e.stage, Date.now());
        this.record(e.stage);
      } else if (e.status === 'completed') {
        const t0 = this.startedAt.get(e.stage);
        if (t0 !== undefined) this.record(e.stage).seconds = (Date.now() - t0) / 1000;
        this.o.onStageCompleted?.(e.stage);
      }
    } else if (e.type === 'eval') {
      this.record(e.stage).evals.push({ step: e.step, role: e.role, metrics: e.metrics });
      out(`eval ${e.stage} ${e.role} step ${e.step} ${JSON.stringify(e.metrics)}`);
    } else if (e.type === 'progress') {
      this.record(e.stage).last_losses = e.losses;
      if (Date.now() - this.lastPrint < 30_000 && e.step !== e.total) return;
      this.lastPrint = Date.now();
      const loss = e.losses.total ?? Object.values(e.losses)[0] ?? Number.NaN;
      out(`${e.stage} ${e.step}/${e.total} loss ${loss.toFixed(4)} ${e.steps_per_sec.toFixed(2)} it/s eta ${Math.round(e.eta_s)}s`);
    }
  };

  private record(stage: string): StageRecord {
    this.stages[stage] ??= { seconds: 0, evals: [] };
    return this.stages[stage];
  }
}
