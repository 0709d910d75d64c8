// Answers shaped as the issue 19 design's §6 (/tmp/briefs/models-design.md, copied into
// lab_ext/src/models/api.ts as the types): models/config, models, models/versions, models/lineage.
import { ILineage, IModelsConfig, IModelSummary, IVersion, IVersions } from '../src/models/api';
import { IProject } from '../src/pipelines/api';

export const CONFIG: IModelsConfig = {
  enabled: true, backend: 'local', registry: 'mlflow', registry_url: 'http://127.0.0.1:5000', environment: 'production', reason: null
};
export const PROJECTS: IProject[] = [
  { id: '.', name: 'home', path: '.', web_url: '' },
  { id: 'ml', name: 'ml', path: 'ml', web_url: '' }
];
export const MODELS: IModelSummary[] = [
  { name: 'iris', description: '', latest_version: '1.0.3', production: { version: '1.0.1', deployment_id: 1, deployed_at: '2026-12-06T10:00:00Z' } },
  { name: 'churn', description: '', latest_version: '1.0.9', production: null }
];

export function version(v: string, metrics: Record<string, number>, extra: Partial<IVersion> = {}): IVersion {
  const pipeline = Number(v.split('.')[2]);
  return {
    version: v, registry_version: String(pipeline), run_id: `run${pipeline}`, created_at: '2026-12-06T09:00:00Z',
    pipeline_id: pipeline, commit: `c0ffee${pipeline}aa55`, gate: { passed: true, reasons: [] }, metrics, reproduces: null,
    serving: false, ...extra
  };
}

export const VERSIONS: IVersions = {
  versions: [
    version('1.0.1', { accuracy: 0.93, precision: 0.9, recall: 0.95, f1: 0.92 }, { serving: true }),
    version('1.0.2', { accuracy: 0.61, precision: 0.5, recall: 0.4, f1: 0.44 }, {
      gate: { passed: false, reasons: ['accuracy 0.61 < 0.8'] }
    }),
    version('1.0.3', { accuracy: 0.95, precision: 0.92, recall: 0.9, f1: 0.91 }),
    version('1.0.4', { accuracy: 0.93, precision: 0.9, recall: 0.95, f1: 0.92 }, { reproduces: '1.0.1' })
  ],
  production: { version: '1.0.1', deployment_id: 1, deployed_at: '2026-12-06T10:00:00Z' },
  can_deploy: { allowed: true, role: 'Developer', needs: 'Developer' }
};

export function lineage(v: string, extra: Partial<ILineage> = {}): ILineage {
  const pipeline = Number(v.split('.')[2]);
  return {
    model: { name: 'iris', version: v, registry_version: String(pipeline), run_id: `run${pipeline}` },
    commit: `c0ffee${pipeline}aa55bb`, project: '.', pipeline_id: pipeline, jobs: { train: 11, test: 12, build: 13 },
    data: {
      train: { uri: 's3://datasets/iris/train.csv', requested_version: '', version_id: 'v-train-1', etag: '"e1"', size: 10, versioned: true },
      test: { uri: 's3://plain/iris/test.csv', requested_version: '', version_id: null, etag: '"abc123"', size: 5, versioned: false }
    },
    metrics: { accuracy: 0.93 }, gate: { passed: true, reasons: [] },
    image: { context_digest: 'sha256:feed', built: false }, reproduces: null,
    links: { commit: null, pipeline: 'http://gitlab.example/p/-/pipelines/1', jobs: { train: 'http://gitlab.example/p/-/jobs/11' }, image: null, registry: null },
    deployments: [{ id: 1, status: 'success', created_at: '2026-12-06T10:00:00Z', user: 'alice', url: 'http://gitlab.example/p/-/environments/1/deployments/1' }],
    reproducibility: 'weaker', warnings: [{ code: 'store_unversioned', which: 'test', uri: 's3://plain/iris/test.csv' }], ...extra
  };  // prettier-ignore
}

/** A stand-in for ModelsAPI answering the fixtures above (jest mocks: each call is recorded). */
export function fakeApi(overrides: Record<string, jest.Mock> = {}) {
  return {
    config: jest.fn().mockResolvedValue(CONFIG),
    projects: jest.fn().mockResolvedValue(PROJECTS),
    models: jest.fn().mockResolvedValue(MODELS),
    versions: jest.fn().mockResolvedValue(VERSIONS),
    lineage: jest.fn((_p: string, _n: string, v: string) => Promise.resolve(lineage(v))),
    promote: jest.fn().mockResolvedValue({ pipeline_id: 3, job: 'deploy', deployment_status: 'running' }),
    rollback: jest.fn().mockResolvedValue({ pipeline_id: 1, job: 'deploy', deployment_status: 'running' }),
    reproduce: jest.fn().mockResolvedValue({ pipeline: { id: 5, status: 'pending', web_url: '' } }),
    health: jest.fn().mockResolvedValue({ days: [], latest: null, problems: [] }),
    retrain: jest.fn().mockResolvedValue({ pipeline: { id: 7, status: 'pending', web_url: '' }, backend: 'local', project: '.', ref: 'main', retrain_for: '1.0.1' }),
    ...overrides
  };
}
