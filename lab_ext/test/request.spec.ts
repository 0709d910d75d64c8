import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';

import { errorReason, HybridHubRequestError, requestAPI } from '../src/request';

const trans = nullTranslator.load('hybridhub');

/** The next answer of the Jupyter server, as ServerConnection would hand it over. */
function answer(status: number, body: string): jest.SpyInstance {
  return jest
    .spyOn(ServerConnection, 'makeRequest')
    .mockResolvedValue(new Response(body, { status, headers: { 'Content-Type': 'application/json' } }));
}

/** The error a request ends with (the test fails if it succeeds). */
async function failure(request: Promise<unknown>): Promise<HybridHubRequestError> {
  const outcome = await request.then(
    () => null,
    (error: unknown) => error
  );
  expect(outcome).toBeInstanceOf(HybridHubRequestError);
  return outcome as HybridHubRequestError;
}

afterEach(() => jest.restoreAllMocks());

describe('requestAPI', () => {
  it('calls the extension under the server base URL and returns the JSON', async () => {
    const spy = answer(200, '{"buckets": []}');
    await expect(requestAPI('storage/buckets', trans)).resolves.toEqual({ buckets: [] });
    expect(String(spy.mock.calls[0][0])).toMatch(/\/hybridhub\/storage\/buckets$/);
  });

  it('keeps the reason code of a failed request for the panels', async () => {
    answer(403, '{"reason": "access_denied", "message": "Access Denied."}');
    const error = await failure(requestAPI('storage/list', trans));
    expect(error.status).toBe(403);
    expect(error.message).toBe('Access Denied.');
    expect(errorReason(error)).toBe('access_denied');
  });

  it('says a common reason in words of its own, not the server English', async () => {
    answer(404, '{"reason": "no_such_route", "message": "Not Found"}');
    const error = await failure(requestAPI('models/list', trans));
    expect(error.message).toMatch(/older than this page/);
    expect(errorReason(error)).toBe('no_such_route');
  });

  it('names a missing server extension plainly', async () => {
    answer(404, '<html>404</html>');
    const error = await failure(requestAPI('status', trans));
    expect(error.message).toMatch(/not installed or not enabled/);
    expect(errorReason(error)).toBeNull();
  });

  it('turns a network failure into a request error with status 0', async () => {
    jest.spyOn(ServerConnection, 'makeRequest').mockRejectedValue(new TypeError('Failed to fetch'));
    const error = await failure(requestAPI('storage/config', trans));
    expect(error.status).toBe(0);
    expect(error.message).toBe('The Jupyter server could not be reached.');
  });
});
