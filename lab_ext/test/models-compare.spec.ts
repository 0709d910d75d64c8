import { nullTranslator } from '@jupyterlab/translation';

import { bestVersions, compareReproduction, promoteBlocked } from '../src/models/compare';
import { version } from './models-fixtures';

describe('bestVersions', () => {
  it('marks the top of each metric, all versions that share it, and none where all are the same', () => {
    const best = bestVersions([
      version('1.0.1', { accuracy: 0.9, precision: 0.8, recall: 0.7 }),
      version('1.0.2', { accuracy: 0.95, precision: 0.8, recall: 0.7 }),
      version('1.0.3', { accuracy: 0.95, precision: 0.8 })
    ]);
    expect([...best.accuracy].sort()).toEqual(['1.0.2', '1.0.3']);
    expect(best.precision).toBeUndefined();
    expect(best.recall).toBeUndefined(); // 1.0.3 has none: the two that have it are the same
    expect(best.f1).toBeUndefined();
  });
});

describe('compareReproduction', () => {
  const original = version('1.0.1', { accuracy: 0.93, precision: 0.9, train_accuracy: 0.99 });

  it('says equal within float noise, and which metric differs with both numbers', () => {
    const same = version('1.0.5', { accuracy: 0.93 + 1e-12, precision: 0.9 }, { reproduces: '1.0.1' });
    expect(compareReproduction(same, [original, same])).toMatchObject({ equal: true, original });
    const other = version('1.0.6', { accuracy: 0.91, precision: 0.9 }, { reproduces: '1.0.1' });
    const result = compareReproduction(other, [original, other])!;
    expect(result.equal).toBe(false);
    expect(result.metrics[0]).toEqual({ key: 'accuracy', value: 0.91, original: 0.93, same: false });
  });

  it('is no comparison for a version that reproduces none, and not equal without an original', () => {
    expect(compareReproduction(original, [original])).toBeNull();
    const orphan = version('1.0.7', { accuracy: 0.93 }, { reproduces: '1.0.0' });
    expect(compareReproduction(orphan, [orphan])).toEqual({ original: null, equal: false, metrics: [] });
  });
});

describe('promoteBlocked', () => {
  const trans = nullTranslator.load('hybridhub');
  const allowed = { allowed: true, role: 'Developer', needs: 'Developer' };

  it("says the server's refusal of a version (its deploy field) in the person's words", () => {
    const outdated = version('1.0.5', {}, { deploy: { allowed: false, reason: 'outdated_deployment' } });
    expect(promoteBlocked(outdated, '1.0.7', allowed, false, trans)).toBe(
      'Version 1.0.5 is older than 1.0.7, in production: GitLab does not run an outdated deploy job. ' +
        'Roll back reaches versions deployed before; Reproduce makes a new version from its commit and data.'
    );
    expect(promoteBlocked(outdated, null, allowed, false, trans)).toContain('older than the last deployment');
    const missing = version('1.0.6', {}, { deploy: { allowed: false, reason: 'deploy_job_missing' } });
    expect(promoteBlocked(missing, '1.0.7', allowed, false, trans)).toMatch(/^The pipeline of this version has no deploy job/);
    const unknown = version('1.0.8', {}, { deploy: { allowed: false, reason: 'something_new' } });
    expect(promoteBlocked(unknown, '1.0.7', allowed, false, trans)).toBe('This version cannot be deployed now.');
    expect(promoteBlocked(version('1.0.9', {}, { deploy: { allowed: true, reason: null } }), '1.0.7', allowed, false, trans)).toBeNull();
  });
});
