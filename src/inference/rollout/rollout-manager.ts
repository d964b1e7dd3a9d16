/**
 * Canary and shadow roll-outs of every model on this replica. It follows the plans in each
 * model's state.json (the registry is the source of truth; syncLocked() is called whenever the host
 * reads it), keeps each candidate version loaded, routes unpinned requests to a canary by
 * weight (or by a routing key, stably per plan), replays a sample of the active version's
 * requests on a shadow and compares the answers, gathers evidence per plan, and applies a plan's
 * rules once enough evidence is in (one replica decides: decision-claim.ts).
 *
 * Every state change runs under the engine's per-model KeyedMutex; methods named *Locked expect
 * the caller to hold it.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { InferenceConfig } from '../../config.js';
import type { Metrics } from '../../metrics.js';
import { InvalidRolloutError, ModelNotFoundError, VersionNotFoundError } from '../errors.js';
import type { KeyedMutex } from '../keyed-mutex.js';
import { updateModelState } from '../registry/publish.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ModelState, RolloutEvent, RolloutPlan, RolloutRole } from '../registry/types.js';
import type { ServedVersion } from '../served-version.js';
import type { LabelScore } from '../tasks/classification.js';
import type { Answer } from '../tasks/qa.js';
import { compareClassification, compareQa } from './agreement.js';
import { claimDecision } from './decision-claim.js';
import { EvidenceRecorder, type PlanEvidence } from './evidence.js';
import { type Activation, endPlan, type PlanRequest, ROLLOUT_ROLES, startPlan } from './plan.js';
import { judge } from './rules.js';
import { ShadowDispatcher } from './shadow-dispatcher.js';

const AGREEMENT_METRICS = ['top1', 'mean_abs_score_diff', 'exact_match', 'token_f1', 'no_answer'] as const;

/** A shadow replay's deadline: generous, since it yields to live work. */
const SHADOW_DEADLINE_MS = 60_000;

export interface RolloutManagerOptions {
  registry: ModelRegistry;
  inference: InferenceConfig;
  logger: Logger;
  metrics?: Metrics;
  /** The engine's per-model lock of admin actions (shared with activate). */
  mutex: KeyedMutex;
  /** Load, verify and warm a version with these settings (the host's load). */
  load: (model: string, version: number, inference: InferenceConfig) => Promise<ServedVersion>;
  /** The version answering unpinned requests now. */
  active: (model: string) => ServedVersion | undefined;
  /**
   * Make a version active (load, state.json, swap) without taking the lock; returns the new
   * state. `loaded`: a candidate already serving with live settings, swapped in as is.
   */
  activateLocked: (model: string, version: number, activation: Activation, loaded?: ServedVersion) => Promise<ModelState>;
  /** Random numbers in [0, 1) for the split and the sample (tests may fix them). */
  random?: () => number;
  /** Called after this manager wrote state.json (a plan started or ended, a decision). */
  onStateChange?: (model: string, state: ModelState) => void;
}

interface Candidate {
  role: RolloutRole;
  plan: RolloutPlan;
  served: ServedVersion | undefined;
  loadError?: string;
  evidence: EvidenceRecorder;
  dispatcher: ShadowDispatcher | undefined;
  decided: boolean;
}

export interface PlanView {
  plan: RolloutPlan;
  /** Whether this replica has the candidate loaded (a plan whose version cannot load here routes nothing). */
  loaded: boolean;
  load_error?: string;
  /** This replica's evidence since the plan started. */
  evidence: PlanEvidence;
}

export interface RolloutView {
  canary: PlanView | null;
  shadow: PlanView | null;
  history: RolloutEvent[];
}

export interface PlanChange {
  changed: boolean;
  plan: RolloutPlan | null;
  previous: RolloutPlan | null;
}

/** A stable number in [0, 1) for a routing key under one plan: the same key keeps its version while the plan lasts. */
export function routingPoint(planId: string, key: string): number {
  return createHash('sha256').update(`${planId}\n${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

export class RolloutManager {
  private readonly models = new Map<string, Partial<Record<RolloutRole, Candidate>>>();
  private readonly random: () => number;
  private closed = false;

  constructor(private readonly opts: RolloutManagerOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** Follow state.json's plans for `model`: load new candidates, release ended ones. The caller holds the model's lock. */
  async syncLocked(model: string, state: ModelState | undefined): Promise<void> {
    const entry = this.entry(model);
    for (const role of ROLLOUT_ROLES) {
      const plan = state?.[role];
      const current = entry[role];
      if (current && current.plan.id === plan?.id) continue;
      if (current) await this.release(model, current);
      delete entry[role];
      if (plan && !this.closed) await this.install(model, role, plan, undefined, state!.active);
    }
  }

  private entry(model: string): Partial<Record<RolloutRole, Candidate>> {
    let e = this.models.get(model);
    if (!e) {
      e = {};
      this.models.set(model, e);
    }
    return e;
  }

  private candidateSettings(role: RolloutRole): InferenceConfig {
    const inf = this.opts.inference;
    if (role === 'canary') return inf;
    // A shadow answers nobody: one session, one thread, the lowest priority the settings allow.
    return {
      ...inf,
      sessionsPerModel: 1,
      intraOpThreads: 1,
      sessionThreadNiceness: Math.max(inf.sessionThreadNiceness, inf.shadowThreadNiceness),
      maxQueuedRows: Math.max(inf.maxQueuedRows, inf.maxBatchRows),
    };
  }

  private async install(model: string, role: RolloutRole, plan: RolloutPlan, served: ServedVersion | undefined, activeVersion: number): Promise<void> {
    const cand: Candidate = {
      role,
      plan,
      served,
      evidence: new EvidenceRecorder(plan.id, plan.started_at, activeVersion, plan.version, role === 'shadow'),
      dispatcher: undefined,
      decided: false,
    };
    if (!cand.served) {
      try {
        cand.served = await this.opts.load(model, plan.version, this.candidateSettings(role));
      } catch (err) {
        cand.loadError = (err as Error).message;
        this.opts.logger.error({ err, model, role, version: plan.version }, 'roll-out candidate failed to load on this replica; the plan routes nothing here');
      }
    }
    if (role === 'shadow') {
      cand.dispatcher = new ShadowDispatcher({
        capacity: this.opts.inference.shadowMaxQueued,
        liveBusy: () => (this.opts.active(model)?.queuedRows ?? 0) > 0,
      });
    }
    this.entry(model)[role] = cand;
    this.opts.metrics?.rolloutPlan.set({ model, version: String(plan.version), role }, role === 'canary' ? (plan.weight ?? 0) : (plan.sample ?? 0));
    this.opts.logger.info({ model, role, version: plan.version, plan: plan.id }, 'roll-out plan running');
  }

  private async release(model: string, cand: Candidate): Promise<void> {
    const version = String(cand.plan.version);
    this.opts.metrics?.rolloutPlan.remove({ model, version, role: cand.role });
    // Agreement describes a running plan; an ended shadow's last value must not linger (or alert).
    if (cand.role === 'shadow') for (const metric of AGREEMENT_METRICS) this.opts.metrics?.shadowAgreement.remove({ model, version, metric });
    await cand.dispatcher?.close();
    await cand.served?.retire();
  }

  /** The canary that answers this unpinned request, if the split says so. */
  pickCanary(model: string, routingKey: string | undefined): ServedVersion | undefined {
    const cand = this.models.get(model)?.canary;
    if (!cand?.served || cand.served.closed) return undefined;
    const point = routingKey === undefined ? this.random() : routingPoint(cand.plan.id, routingKey);
    return point < (cand.plan.weight ?? 0) ? cand.served : undefined;
  }

  /**
   * Record an unpinned request answered by `version` (the active one or the canary), with its
   * outcome and engine time; errors of the request itself (bad input, a client that left) are
   * not the version's and are not passed here.
   */
  observe(model: string, version: number, role: 'active' | 'canary', ok: boolean, seconds: number): void {
    this.opts.metrics?.rolloutRequests.inc({ model, version: String(version), role, outcome: ok ? 'ok' : 'error' });
    this.opts.metrics?.rolloutDuration.observe({ model, version: String(version), role }, seconds);
    const entry = this.models.get(model);
    if (!entry) return;
    for (const cand of [entry.canary, entry.shadow]) {
      if (!cand) continue;
      if (role === 'canary' && cand.role === 'canary' && cand.plan.version === version) {
        cand.evidence.candidate.observe(ok, seconds * 1000);
        this.maybeDecide(model, cand);
      } else if (role === 'active') {
        cand.evidence.active.version = version;
        cand.evidence.active.observe(ok, seconds * 1000);
      }
    }
  }

  /**
   * A request the active version answered: maybe replay it on the shadow (sampled), off the
   * request's path. Returns at once; the live answer is never touched.
   */
  offerShadow<T extends LabelScore[][] | Answer[][]>(model: string, activeResults: T, replay: (v: ServedVersion) => Promise<T>): void {
    const cand = this.models.get(model)?.shadow;
    if (!cand?.served || !cand.dispatcher || cand.served.closed) return;
    if (this.random() >= (cand.plan.sample ?? 0)) return;
    const served = cand.served;
    const labels = { model, version: String(cand.plan.version) };
    const accepted = cand.dispatcher.offer(async () => {
      const started = performance.now();
      let results: T;
      try {
        results = await replay(served);
      } catch (err) {
        this.opts.metrics?.rolloutRequests.inc({ ...labels, role: 'shadow', outcome: 'error' });
        cand.evidence.candidate.observe(false, performance.now() - started);
        this.opts.logger.debug({ err, model, version: cand.plan.version }, 'shadow replay failed (recorded, not raised)');
        this.maybeDecide(model, cand);
        return;
      }
      const ms = performance.now() - started;
      this.opts.metrics?.rolloutRequests.inc({ ...labels, role: 'shadow', outcome: 'ok' });
      this.opts.metrics?.rolloutDuration.observe({ ...labels, role: 'shadow' }, ms / 1000);
      cand.evidence.candidate.observe(true, ms);
      this.compare(model, cand, activeResults, results);
      this.maybeDecide(model, cand);
    });
    if (!accepted) {
      cand.evidence.dropped++;
      this.opts.metrics?.shadowDropped.inc(labels);
    }
  }

  /** Replays are deadline-bound like any request, but never cancelled by the live caller. */
  static readonly shadowWork = { deadlineMs: SHADOW_DEADLINE_MS };

  private compare(model: string, cand: Candidate, active: LabelScore[][] | Answer[][], shadow: LabelScore[][] | Answer[][]): void {
    const m = this.opts.metrics;
    const labels = { model, version: String(cand.plan.version) };
    let agree = 0;
    let total = 0;
    if (cand.served?.task === 'qa') {
      const rows = compareQa(active as Answer[][], shadow as Answer[][]);
      cand.evidence.addQa(rows);
      agree = rows.filter((r) => r.exactMatch).length;
      total = rows.length;
    } else {
      const rows = compareClassification(active as LabelScore[][], shadow as LabelScore[][]);
      cand.evidence.addClassification(rows);
      agree = rows.filter((r) => r.top1).length;
      total = rows.length;
    }
    if (!m) return;
    m.shadowComparisons.inc({ ...labels, result: 'agree' }, agree);
    m.shadowComparisons.inc({ ...labels, result: 'disagree' }, total - agree);
    const a = cand.evidence.agreement();
    const gauges: Record<(typeof AGREEMENT_METRICS)[number], number | undefined> = {
      top1: a.top1_agreement,
      mean_abs_score_diff: a.mean_abs_score_diff,
      exact_match: a.exact_match,
      token_f1: a.token_f1,
      no_answer: a.no_answer_agreement,
    };
    for (const [metric, value] of Object.entries(gauges)) if (value !== undefined) m.shadowAgreement.set({ ...labels, metric }, value);
  }

  private maybeDecide(model: string, cand: Candidate): void {
    const rules = cand.plan.rules;
    if (!rules || cand.decided || this.closed) return;
    // Cheap check first: a snapshot sorts the latency window, not something to do per request.
    if (cand.evidence.candidate.requests < rules.min_requests) return;
    const evidence = cand.evidence.snapshot();
    const verdict = judge(rules, evidence);
    if (!verdict) return;
    cand.decided = true;
    const action = verdict.passed ? rules.on_pass : rules.on_fail;
    if (action === 'none') {
      this.opts.metrics?.rolloutDecisions.inc({ model, role: cand.role, action: 'kept' });
      this.opts.logger.info(
        { model, role: cand.role, plan: cand.plan.id, reason: verdict.reason },
        'roll-out rules decided; the plan keeps running (action none)',
      );
      return;
    }
    void this.decide(model, cand, action, verdict.reason, evidence).catch((err: unknown) =>
      this.opts.logger.error({ err, model, role: cand.role, plan: cand.plan.id }, 'roll-out decision failed'),
    );
  }

  private async decide(model: string, cand: Candidate, action: 'promote' | 'abort', reason: string, evidence: PlanEvidence): Promise<void> {
    const { plan, role } = cand;
    if (!(await claimDecision(this.opts.registry.root, model, plan.id, { action, reason }))) {
      this.opts.logger.info({ model, role, plan: plan.id }, 'another replica decides this roll-out plan');
      return;
    }
    const record = { ...evidence } as unknown as Record<string, unknown>;
    await this.opts.mutex.run(model, async () => {
      const state = await this.opts.registry.readState(model);
      if (state?.[role]?.id !== plan.id) return; // ended or replaced meanwhile: nothing to decide
      let next: ModelState;
      if (action === 'promote') {
        // A canary already serves with live settings and warm sessions: it becomes the active
        // version as it is. A shadow's niced single session does not; the host loads afresh.
        const handOver = role === 'canary' && cand.served && !cand.served.closed ? cand.served : undefined;
        next = await this.opts.activateLocked(model, plan.version, { by: 'rules', action: 'promoted', reason, evidence: record }, handOver);
        if (handOver && cand.served === handOver) cand.served = undefined; // the host owns it now; releasing the plan must not retire it
      } else {
        next = (
          await updateModelState(this.opts.registry.root, model, (s) =>
            endPlan(s ?? state, role, { action: 'aborted', by: 'rules', reason, evidence: record, planId: plan.id }),
          )
        ).state;
      }
      this.opts.onStateChange?.(model, next);
      this.opts.metrics?.rolloutDecisions.inc({ model, role, action: action === 'promote' ? 'promoted' : 'aborted' });
      this.opts.logger.info({ model, role, version: plan.version, plan: plan.id, action, reason }, 'roll-out decided by its rules');
      await this.syncLocked(model, next);
    });
  }

  /** Evidence and history of `model` as this replica sees them. */
  view(model: string, state: ModelState | undefined): RolloutView {
    const entry = this.models.get(model) ?? {};
    const planView = (role: RolloutRole): PlanView | null => {
      const plan = state?.[role];
      if (!plan) return null;
      const cand = entry[role]?.plan.id === plan.id ? entry[role] : undefined;
      const evidence = cand?.evidence.snapshot() ?? new EvidenceRecorder(plan.id, plan.started_at, state.active, plan.version, role === 'shadow').snapshot();
      return { plan, loaded: cand?.served !== undefined, ...(cand?.loadError ? { load_error: cand.loadError } : {}), evidence };
    };
    return { canary: planView('canary'), shadow: planView('shadow'), history: state?.history ?? [] };
  }

  /**
   * Start or replace a plan (admin or job). The candidate is loaded and warmed first: a version
   * that cannot load throws ModelLoadError and nothing changes. An identical running plan is
   * answered `changed: false`.
   */
  putPlan(model: string, role: RolloutRole, req: PlanRequest, by: string): Promise<PlanChange> {
    return this.opts.mutex.run(model, async () => {
      const reg = this.opts.registry;
      if (!(await reg.exists(model))) throw new ModelNotFoundError(model);
      if (!(await reg.listVersions(model)).includes(req.version)) throw new VersionNotFoundError(model, req.version);
      const state = await reg.readState(model);
      if (!state) throw new InvalidRolloutError(`model ${model} has no active version; activate one before starting a ${role}`);
      if (state.active === req.version) throw new InvalidRolloutError(`version ${req.version} is already active; a ${role} needs another version`);
      if (role === 'canary' && req.rules?.min_agreement !== undefined) {
        throw new InvalidRolloutError(
          'rules.min_agreement needs a shadow (a canary answers alone, nothing is compared); use a shadow plan or drop min_agreement',
        );
      }
      const [activeTask, candidateTask] = await Promise.all([reg.taskOf(model, state.active), reg.taskOf(model, req.version)]);
      if (activeTask && candidateTask && activeTask !== candidateTask) {
        throw new InvalidRolloutError(
          `version ${req.version} is a ${candidateTask} model and the active version ${state.active} a ${activeTask} model; a ${role} must do the same task`,
        );
      }
      const previous = state[role] ?? null;
      const probe = startPlan(state, role, req, by);
      if (!probe.changed) return { changed: false, plan: previous, previous };
      // A changed weight, sample or rules for the same version keeps the loaded candidate.
      const current = this.entry(model)[role];
      const reuse = current?.served && !current.served.closed && current.plan.version === req.version ? current.served : undefined;
      const served = reuse ?? (await this.opts.load(model, req.version, this.candidateSettings(role)));
      let written: ModelState;
      try {
        written = (await updateModelState(reg.root, model, (s) => startPlan(s ?? state, role, req, by))).state;
      } catch (err) {
        if (!reuse) await served.close();
        throw err;
      }
      if (current) {
        if (reuse) current.served = undefined;
        await this.release(model, current);
      }
      delete this.entry(model)[role];
      await this.install(model, role, written[role]!, served, written.active);
      this.opts.onStateChange?.(model, written);
      return { changed: true, plan: written[role]!, previous };
    });
  }

  /** End a plan (admin). No plan running is answered `changed: false`. */
  deletePlan(model: string, role: RolloutRole, by: string): Promise<PlanChange> {
    return this.opts.mutex.run(model, async () => {
      const reg = this.opts.registry;
      if (!(await reg.exists(model))) throw new ModelNotFoundError(model);
      const state = await reg.readState(model);
      const previous = state?.[role] ?? null;
      if (!state || !previous) return { changed: false, plan: null, previous: null };
      const cand = this.models.get(model)?.[role];
      const evidence = cand?.plan.id === previous.id ? (cand.evidence.snapshot() as unknown as Record<string, unknown>) : undefined;
      const written = await updateModelState(reg.root, model, (s) =>
        endPlan(s ?? state, role, { action: 'ended', by, reason: `${role} ended by ${by}`, planId: previous.id, ...(evidence ? { evidence } : {}) }),
      );
      await this.syncLocked(model, written.state);
      if (written.changed) this.opts.onStateChange?.(model, written.state);
      return { changed: written.changed, plan: null, previous };
    });
  }

  /** Stop every shadow replay and release every candidate. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.models.entries()].flatMap(([model, e]) =>
      [e.canary, e.shadow].filter((c): c is Candidate => c !== undefined).map((c) => ({ model, c })),
    );
    this.models.clear();
    await Promise.allSettled(
      all.map(({ c }) =>
        (async () => {
          await c.dispatcher?.close();
          await c.served?.close();
        })(),
      ),
    );
  }
}
