/**
 * Service metadata (tables, columns, options, resource types, filters) kept across runs, so that a
 * poll that finds nothing costs one request and a busy run reads no metadata at all.
 *
 * Only ever a cache: each process (n8n's main, every queue-mode worker) holds its own, entries are
 * used for a bounded time, and callers drop an entry as soon as an answer shows it is stale (a
 * column the service does not know, a settings problem found against it, a label it lacks). Nothing
 * that must survive a restart or be shared between processes lives here.
 */

export interface MetadataCacheOptions {
	/** How long an entry is used before it is read again; Infinity keeps it for the cache's life. */
	ttlMs: number;
	/** The most entries kept; the least recently loaded go first. */
	maxEntries?: number;
	/** Clock in milliseconds. */
	now?: () => number;
}

interface Entry {
	value: Promise<unknown>;
	loadedAt: number;
	/** The mark current when it was loaded (see `mark`). */
	mark: number;
	/** Reasons the entry was already read again for (see `reload`). */
	reloadedFor: Set<string>;
}

export class MetadataCache {
	private readonly entries = new Map<string, Entry>();
	private readonly ttlMs: number;
	private readonly maxEntries: number;
	private readonly now: () => number;
	private marks = 0;

	constructor(options: MetadataCacheOptions) {
		this.ttlMs = options.ttlMs;
		this.maxEntries = options.maxEntries ?? 1000;
		this.now = options.now ?? (() => Date.now());
	}

	/**
	 * The value under `key`, loaded by `load` when there is none or it is older than the TTL. Callers
	 * at the same time share one load; a load that fails is not kept, so the next call tries again.
	 * Values are frozen, as every caller gets the same object.
	 */
	get<T>(key: string, load: () => Promise<T>): Promise<T> {
		const entry = this.entries.get(key);
		if (entry && this.now() - entry.loadedAt < this.ttlMs) return entry.value as Promise<T>;
		return this.start(key, load, new Set()).value as Promise<T>;
	}

	/**
	 * A point in the cache's history, e.g. when a run starts: `loadedBefore` then tells the entries
	 * that earlier runs loaded from those loaded since.
	 */
	mark(): number {
		return ++this.marks;
	}

	/** Whether the entry under `key` is in use and was loaded before `mark`. */
	loadedBefore(key: string, mark: number): boolean {
		const entry = this.entries.get(key);
		return !!entry && this.now() - entry.loadedAt < this.ttlMs && entry.mark < mark;
	}

	/**
	 * Reads `key` again because `reason` suggests the entry is stale (e.g. a name it does not know),
	 * unless it was already read again for that reason since it was first loaded: a name that stays
	 * unknown costs one more read per TTL, not one per call. Returns the new load, or undefined.
	 */
	reload<T>(key: string, reason: string, load: () => Promise<T>): Promise<T> | undefined {
		const entry = this.entries.get(key);
		if (entry?.reloadedFor.has(reason)) return undefined;
		const reloadedFor = new Set(entry?.reloadedFor ?? []);
		reloadedFor.add(reason);
		return this.start(key, load, reloadedFor).value as Promise<T>;
	}

	/**
	 * Drops those of `keys` that were loaded before `mark` (by earlier runs): what a run used and
	 * did not read itself. True when anything was dropped (reading again may then help).
	 */
	invalidateLoadedBefore(keys: Iterable<string>, mark: number): boolean {
		let dropped = false;
		for (const key of keys) {
			if (!this.loadedBefore(key, mark)) continue;
			this.entries.delete(key);
			dropped = true;
		}
		return dropped;
	}

	/** Drops the entry under `key`: an answer showed it is stale. */
	invalidate(key: string): void {
		this.entries.delete(key);
	}

	/** Drops every entry whose key passes `test` (e.g. all of one environment after a change). */
	invalidateWhere(test: (key: string) => boolean): void {
		for (const key of [...this.entries.keys()]) if (test(key)) this.entries.delete(key);
	}

	clear(): void {
		this.entries.clear();
	}

	private start(key: string, load: () => Promise<unknown>, reloadedFor: Set<string>): Entry {
		const entry: Entry = {
			value: load().then(deepFreeze),
			loadedAt: this.now(),
			mark: this.marks,
			reloadedFor,
		};
		entry.value.catch(() => {
			if (this.entries.get(key) === entry) this.entries.delete(key);
		});
		this.entries.delete(key);
		this.entries.set(key, entry);
		if (this.entries.size > this.maxEntries) {
			const oldest = this.entries.keys().next().value;
			if (oldest !== undefined) this.entries.delete(oldest);
		}
		return entry;
	}
}

function deepFreeze<T>(value: T): T {
	if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
		Object.freeze(value);
		for (const inner of Object.values(value)) deepFreeze(inner);
	}
	return value;
}
