import { ISignal, Signal } from '@lumino/signaling';

import { IBucket, IEntry, IStorageConfig, StorageAPI } from './api';

/**
 * What the storage panel shows: a bucket, a prefix inside it and the pages loaded so far.
 * Listing is lazy: one page per request, "load more" fetches the next one.
 */
export class StorageModel {
  constructor(readonly api: StorageAPI) {}

  /** How many changes so far (every signal adds one): what the view re-renders on. */
  get version(): number {
    return this._version;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when only the selected entry changed (the list itself did not). */
  get selectionChanged(): ISignal<this, void> {
    return this._selectionChanged;
  }

  /** Emitted with a user-facing error raised by a background refresh. */
  get failed(): ISignal<this, unknown> {
    return this._failed;
  }

  config: IStorageConfig | null = null;
  buckets: IBucket[] = [];
  bucket = '';
  prefix = '';
  search = '';
  entries: IEntry[] = [];
  nextToken: string | null = null;
  loading = false;
  error: unknown = null;
  selected: IEntry | null = null;

  /** The prefix the user may not go above (per-user restriction, or the bucket root). */
  get rootPrefix(): string {
    return this.config?.prefix ?? '';
  }

  async initialize(): Promise<void> {
    await this.run(async () => {
      this.config = await this.api.config();
      if (!this.config.configured) {
        return;
      }
      this.buckets = await this.api.buckets();
      const first =
        this.config.default_bucket ||
        (this.buckets.length === 1 ? this.buckets[0].name : '');
      if (first) {
        await this.openLocation(first, this.rootPrefix);
      }
    });
  }

  /** The first load (configuration, buckets, the default bucket), or a refresh after it. */
  loadOrRefresh(): Promise<void> {
    return this.config?.configured ? this.refresh() : this.initialize();
  }

  async openBucket(bucket: string): Promise<void> {
    await this.run(() => this.openLocation(bucket, this.rootPrefix));
  }

  async openPrefix(prefix: string): Promise<void> {
    await this.run(() => this.openLocation(this.bucket, prefix));
  }

  async setSearch(search: string): Promise<void> {
    this.search = search;
    await this.refresh();
  }

  async refresh(): Promise<void> {
    await this.run(async () => {
      if (!this.config) {
        this.config = await this.api.config();
      }
      this.buckets = await this.api.buckets();
      // the place the person asked for last, also when its listing has not arrived yet
      const place = this.wanted ?? { bucket: this.bucket, prefix: this.prefix };
      if (place.bucket) {
        await this.openLocation(place.bucket, place.prefix);
      }
    });
  }

  async loadMore(): Promise<void> {
    if (!this.nextToken || this.loading) {
      return;
    }
    const request = this.placeRequests;
    await this.run(async () => {
      const page = await this.api.list(
        this.bucket,
        this.prefix,
        this.nextToken,
        this.search
      );
      if (request === this.placeRequests) {
        this.entries = this.entries.concat(page.entries);
        this.nextToken = page.next_token;
      }
    });
  }

  select(entry: IEntry | null): void {
    if (entry?.key === this.selected?.key) {
      return;
    }
    this.selected = entry;
    this._version++;
    this._selectionChanged.emit();
  }

  /** Breadcrumb parts below the root prefix: [label, prefix]. */
  crumbs(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const rest = this.prefix.slice(this.rootPrefix.length);
    let acc = this.rootPrefix;
    for (const part of rest.split('/').filter(p => p)) {
      acc += part + '/';
      out.push([part, acc]);
    }
    return out;
  }

  s3Uri(entry: IEntry): string {
    return `s3://${this.bucket}/${entry.key}`;
  }

  /**
   * List a place. Every listing is a new request for the place asked for last (``wanted``), and
   * only the newest request's answer is shown: answers may overtake each other.
   */
  private async openLocation(bucket: string, prefix: string): Promise<void> {
    const request = ++this.placeRequests;
    this.wanted = { bucket, prefix };
    const changedPlace = bucket !== this.bucket || prefix !== this.prefix;
    const search = changedPlace ? '' : this.search;
    const page = await this.api.list(bucket, prefix, null, search);
    if (request !== this.placeRequests) {
      return;
    }
    this.search = search;
    this.bucket = bucket;
    this.prefix = page.prefix;
    this.entries = page.entries;
    this.nextToken = page.next_token;
    if (changedPlace || !this.entries.some(e => e.key === this.selected?.key)) {
      this.selected = null;
    }
  }

  private async run(work: () => Promise<void>): Promise<void> {
    this.loading = true;
    this.error = null;
    this._version++;
    this._changed.emit();
    try {
      await work();
    } catch (error) {
      this.error = error;
      this._failed.emit(error);
    } finally {
      this.loading = false;
      this._version++;
    this._changed.emit();
    }
  }

  private _version = 0;
  private placeRequests = 0;
  private wanted: { bucket: string; prefix: string } | null = null;
  private _changed = new Signal<this, void>(this);
  private _failed = new Signal<this, unknown>(this);
  private _selectionChanged = new Signal<this, void>(this);
}
