/**
 * One error class for every way fetching a hub file fails, so a caller (the
 * CLI, `fromPretrained`) can tell a missing repo from a bad network by `code`
 * instead of parsing the message, and a user reads one line naming the repo,
 * the file, the revision and what the server said.
 */

/** Why a hub file could not be had. */
export type HubErrorCode =
  | 'unauthorized'
  | 'gated'
  | 'repo-not-found'
  | 'entry-not-found'
  | 'revision-not-found'
  | 'not-found'
  | 'http'
  | 'bad-response'
  | 'network'
  | 'corrupt'
  | 'not-cached'
  | 'not-a-file'
  | 'bad-argument';

/** Which file of which repo a failure is about. */
export interface HubFileRef {
  readonly repoId: string;
  readonly filename: string;
  readonly revision: string;
}

export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: HubErrorCode;
  readonly repoId: string;
  readonly filename: string;
  readonly revision: string;
  /** The HTTP status when the server answered, else undefined. */
  readonly status: number | undefined;

  constructor(
    ref: HubFileRef,
    code: HubErrorCode,
    problem: string,
    status?: number,
    options?: ErrorOptions & {
      /** The function the message starts with (default 'hubDownload'). */
      readonly caller?: string | undefined;
    },
  ) {
    const http = status === undefined ? '' : `HTTP ${status}: `;
    const caller = options?.caller ?? 'hubDownload';
    super(
      `${caller}: ${ref.repoId}, file '${ref.filename}', revision '${ref.revision}': ${http}${problem}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.repoId = ref.repoId;
    this.filename = ref.filename;
    this.revision = ref.revision;
    this.status = status;
  }
}
