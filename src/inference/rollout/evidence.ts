/**
 * The evidence one replica gathers for one roll-out plan since it started: requests, errors and
 * latency of the active version and of the candidate, and for a shadow the agreement of the
 * candidate with the active version. Plain numbers, so the API, the rules and the history can
 * all show the same snapshot.
 */
import type { ClassificationAgreement, QaAgreement } from './agreement.js';

/** Latencies kept per role for percentiles: the most recent ones, a fixed-size ring. */
const LATENCY_WINDOW = 4096;

export interface RoleEvidence {
  version: number;
  requests: number;
  errors: number;
  /** errors / requests; 0 with no requests. */
  error_rate: number;
  /** Over the most recent requests (at most 4096), in milliseconds; null with none. */
  p50_ms: number | null;
  p99_ms: number | null;
}

export interface AgreementEvidence {
  /** Inputs compared (a request with several inputs counts each). */
  compared: number;
  /** Classification: share of inputs whose top-1 label is the same. */
  top1_agreement?: number;
  /** Classification: mean |difference| of the score of the active version's top label. */
  mean_abs_score_diff?: number;
  /** QA: share of inputs whose top answers match after normalisation. */
  exact_match?: number;
  /** QA: mean token F1 between the top answers. */
  token_f1?: number;
  /** QA: share of inputs where both find an answer or both find none. */
  no_answer_agreement?: number;
}

export interface PlanEvidence {
  plan_id: string;
  since: string;
  active: RoleEvidence;
  candidate: RoleEvidence;
  /** Shadow only. */
  agreement?: AgreementEvidence;
  /** Shadow only: sampled requests dropped because the shadow queue was full. */
  dropped?: number;
}

class RoleCounter {
  requests = 0;
  errors = 0;
  private readonly latencies = new Float64Array(LATENCY_WINDOW);
  private filled = 0;
  private next = 0;

  constructor(public version: number) {}

  observe(ok: boolean, ms: number): void {
    this.requests++;
    if (!ok) this.errors++;
    this.latencies[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_WINDOW;
    this.filled = Math.min(LATENCY_WINDOW, this.filled + 1);
  }

  quantile(q: number): number | null {
    if (this.filled === 0) return null;
    const sorted = Array.from(this.latencies.subarray(0, this.filled)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  }

  snapshot(): RoleEvidence {
    const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
    return {
      version: this.version,
      requests: this.requests,
      errors: this.errors,
      error_rate: this.requests === 0 ? 0 : this.errors / this.requests,
      p50_ms: round(this.quantile(0.5)),
      p99_ms: round(this.quantile(0.99)),
    };
  }
}

export class EvidenceRecorder {
  readonly active: RoleCounter;
  readonly candidate: RoleCounter;
  private compared = 0;
  private sums = { top1: 0, scoreDiff: 0, exact: 0, f1: 0, noAnswer: 0 };
  private task: 'classification' | 'qa' | undefined;
  dropped = 0;

  constructor(
    readonly planId: string,
    readonly since: string,
    activeVersion: number,
    candidateVersion: number,
    private readonly shadow: boolean,
  ) {
    this.active = new RoleCounter(activeVersion);
    this.candidate = new RoleCounter(candidateVersion);
  }

  addClassification(rows: readonly ClassificationAgreement[]): void {
    this.task = 'classification';
    for (const r of rows) {
      this.compared++;
      this.sums.top1 += r.top1 ? 1 : 0;
      this.sums.scoreDiff += r.scoreDiff;
    }
  }

  addQa(rows: readonly QaAgreement[]): void {
    this.task = 'qa';
    for (const r of rows) {
      this.compared++;
      this.sums.exact += r.exactMatch ? 1 : 0;
      this.sums.f1 += r.tokenF1;
      this.sums.noAnswer += r.noAnswer ? 1 : 0;
    }
  }

  /** Share of compared inputs the candidate agrees on: top-1 (classification) or exact match (QA); null before any comparison. */
  agreementRate(): number | null {
    if (this.compared === 0) return null;
    return (this.task === 'qa' ? this.sums.exact : this.sums.top1) / this.compared;
  }

  comparedInputs(): number {
    return this.compared;
  }

  agreement(): AgreementEvidence {
    const n = this.compared;
    const mean = (v: number) => (n === 0 ? 0 : v / n);
    if (this.task === 'qa') {
      return { compared: n, exact_match: mean(this.sums.exact), token_f1: mean(this.sums.f1), no_answer_agreement: mean(this.sums.noAnswer) };
    }
    return { compared: n, top1_agreement: mean(this.sums.top1), mean_abs_score_diff: mean(this.sums.scoreDiff) };
  }

  snapshot(): PlanEvidence {
    return {
      plan_id: this.planId,
      since: this.since,
      active: this.active.snapshot(),
      candidate: this.candidate.snapshot(),
      ...(this.shadow ? { agreement: this.agreement(), dropped: this.dropped } : {}),
    };
  }
}
