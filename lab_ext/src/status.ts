/**
 * What the server extension reports about this server's configuration.
 * It never carries credentials, only whether they are present.
 */
export interface IServerStatus {
  version: string;
  storage: {
    configured: boolean;
    endpoint: string;
    default_bucket: string;
    prefix: string;
  };
  git: { remote_configured: boolean };
  gitlab: { configured: boolean; url: string };
}
