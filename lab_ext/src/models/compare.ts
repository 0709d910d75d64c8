import { TranslationBundle } from '@jupyterlab/translation';

import { reasonText } from '../request';
import { ICanDeploy, IVersion } from './api';

export { formatMetric } from '../pipelines/format';

/** The test stage's metrics, side by side in this order. */
export const METRICS = ['accuracy', 'precision', 'recall', 'f1'];

/** Two metrics are the same when they differ by no more than float noise. */
const SAME = 1e-9;

/** The versions holding the best value of each metric (highest is best for all four), where they differ. */
export function bestVersions(versions: IVersion[]): Record<string, Set<string>> {
  const best: Record<string, Set<string>> = {};
  for (const key of METRICS) {
    const values = versions.map(v => v.metrics?.[key]).filter((x): x is number => typeof x === 'number');
    if (!values.length) {
      continue;
    }
    const top = Math.max(...values);
    if (values.every(x => top - x <= SAME)) {
      continue; // all the same: none stands out
    }
    best[key] = new Set(versions.filter(v => typeof v.metrics?.[key] === 'number' && top - v.metrics[key] <= SAME).map(v => v.version));
  }
  return best;
}

export interface IReproduction {
  /** The version reproduced, or null when it is not listed. */
  original: IVersion | null;
  /** True when every metric both have is the same (and they have some). */
  equal: boolean;
  /** Each metric both have: the reproduction's value and the original's. */
  metrics: { key: string; value: number; original: number; same: boolean }[];
}

/** How a reproduction's test metrics compare with those of the version it reproduces. */
export function compareReproduction(version: IVersion, versions: IVersion[]): IReproduction | null {
  if (!version.reproduces) {
    return null;
  }
  const original = versions.find(v => v.version === version.reproduces) ?? null;
  // the test stage's metrics: the train job's own (train_accuracy) come before the test ran
  const keys = METRICS.filter(k => typeof version.metrics?.[k] === 'number' && typeof original?.metrics?.[k] === 'number');
  const metrics = keys.map(key => {
    const value = version.metrics[key];
    const before = original!.metrics[key];
    return { key, value, original: before, same: Math.abs(value - before) <= SAME };
  });
  return { original, equal: metrics.length > 0 && metrics.every(m => m.same), metrics };
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/**
 * A deployment under way. Only ``running``: GitLab records a manual deploy job's deployment as
 * ``created`` as soon as its pipeline exists, long before anyone plays it.
 */
export function deploying(deployment: { status?: string } | null | undefined): boolean {
  return deployment?.status === 'running';
}

/** Why ``version`` cannot be promoted now (translated), or null when it can. */
export function promoteBlocked(
  version: IVersion | undefined,
  productionVersion: string | null,
  canDeploy: ICanDeploy | null,
  inProgress: boolean,
  trans: TranslationBundle
): string | null {
  if (!version) {
    return trans.__('Choose a version first.');
  }
  if (version.gate?.passed === false) {
    const reasons = (version.gate.reasons ?? []).join('; ');
    return reasons
      ? trans.__('Version %1 failed its test gate: %2', version.version, reasons)
      : trans.__('Version %1 failed its test gate.', version.version);
  }
  if (canDeploy && !canDeploy.allowed) {
    return trans.__('Deploying needs the %1 role; your role is %2.', canDeploy.needs, canDeploy.role || trans.__('none'));
  }
  if (inProgress) {
    return trans.__('A deployment is in progress. Wait for it to finish.');
  }
  if (version.version === productionVersion) {
    return trans.__('Version %1 already serves production.', version.version);
  }
  const refused = version.deploy && !version.deploy.allowed ? version.deploy.reason : null;
  if (refused === 'outdated_deployment') {
    return productionVersion
      ? trans.__(
          'Version %1 is older than %2, in production: GitLab does not run an outdated deploy job. Roll back reaches versions deployed before; Reproduce makes a new version from its commit and data.',
          version.version,
          productionVersion
        )
      : trans.__(
          'Version %1 is older than the last deployment: GitLab does not run an outdated deploy job. Reproduce makes a new version from its commit and data.',
          version.version
        );
  }
  return refused ? reasonText('models', refused, trans.__('This version cannot be deployed now.'), trans) : null;
}
