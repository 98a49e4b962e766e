/**
 * One store for what the nodes keep between runs in n8n's workflow static data: the trigger's
 * cursor, the email events' position, the opt-in/out memory, the mapping lock. Each is a plain
 * JSON object with a numeric `version`, read and written only through a `StateKind`.
 *
 * One rule for versions: nothing stored gives the kind's fresh state; a version the kind reads
 * (its own, or an older one it upgrades) is read; anything else (a newer version, one too old, a
 * value that is not a versioned object) is refused with a message naming the node and what to do.
 * A state is never silently replaced: starting over could send again, or forget, what it protects
 * (an export position, a remembered opt-out).
 */
import { SyncSettingsError } from '../sync/errors';

export type StateBag = Record<string, unknown>;

export interface StateKind<T> {
	/** The key in the node's static data. */
	key: string;
	/** The version this package writes. */
	version: number;
	/** The oldest version it still reads (default: this version). */
	oldest?: number;
	/** The version of a state stored before states carried one (absent: such a state is refused). */
	unversioned?: number;
	/** Who keeps it, for messages: "The Dynamics Trigger's saved state". */
	what: string;
	/** What to do when it cannot be read: "Add a new … node to start over." */
	reset: string;
	/** Reads a stored state of a version from `oldest` to `version`, upgrading older ones. */
	read(raw: StateBag, version: number): T;
	/** The JSON to store (default: a plain copy of the state). */
	write?(state: T): StateBag;
}

/** The stored state, or undefined when there is none. Throws on a state it cannot read. */
export function loadState<T>(bag: StateBag, kind: StateKind<T>): T | undefined {
	const raw = bag[kind.key];
	if (raw === undefined || raw === null) return undefined;
	if (typeof raw !== 'object' || Array.isArray(raw)) {
		throw new SyncSettingsError(`${kind.what} is unreadable. ${kind.reset}`);
	}
	const stored = (raw as StateBag).version;
	const version = stored === undefined ? kind.unversioned : stored;
	if (typeof version !== 'number' || !Number.isInteger(version)) {
		throw new SyncSettingsError(`${kind.what} is unreadable. ${kind.reset}`);
	}
	if (version > kind.version) {
		throw new SyncSettingsError(
			`${kind.what} has version ${version}, written by a newer version of this package. Update the package on this n8n.`,
		);
	}
	if (version < (kind.oldest ?? kind.version)) {
		throw new SyncSettingsError(
			`${kind.what} has version ${version}, which this version of the package no longer reads. ${kind.reset}`,
		);
	}
	return kind.read(raw as StateBag, version);
}

/** Stores a plain JSON copy (no undefined keys, nothing shared with the caller). */
export function saveState<T>(bag: StateBag, kind: StateKind<T>, state: T): void {
	const json = kind.write ? kind.write(state) : (state as unknown as StateBag);
	bag[kind.key] = plainCopy({ ...json, version: kind.version });
}

/**
 * A copy of JSON data: objects and arrays copied, strings shared (they cannot change), undefined
 * keys left out. No round trip through JSON text: the opt-out memory is 15 MB at a million pairs,
 * and each run would write all of it out and parse it back.
 */
function plainCopy(value: unknown): unknown {
	if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : plainCopy(v)));
	if (value === null || typeof value !== 'object') return value;
	if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
		return JSON.parse(JSON.stringify(value)) as unknown;
	}
	const copy: StateBag = {};
	for (const [key, v] of Object.entries(value)) if (v !== undefined) copy[key] = plainCopy(v);
	return copy;
}
