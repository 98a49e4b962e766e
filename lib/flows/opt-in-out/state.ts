import type { ModifiedOnCursor } from '../../dynamics/client';
import type { StateBag, StateKind } from '../../state/store';
import type { OptOutMemory, OptOutPairMemory } from '../../sync/optout';

/**
 * What the Opt-In/Out Sync node keeps between cycles, in the workflow's static data (so it
 * survives restarts and works under queue mode). One place reads and writes it.
 *
 * The memory holds, per contact id, one hex digit per mapping (in `pairKeys` order): bit 0 the
 * Dynamics value, bit 1 the Campaign value, bit 2 "we wrote Dynamics", bit 3 "we wrote Campaign";
 * `-` when the pair has no memory yet. Only pairs where some flag is opted out are kept: a pair
 * with no memory is decided exactly as one whose flags were all opted in on both sides, so the
 * state grows with the people who opted out, not with the table. Entries are packed as fixed-width
 * text in buckets named by the id's first four hex digits: the rest of the id (14 bytes) in 19
 * base64url characters, then the pair's digits; about 23 bytes a pair, in memory as in the
 * database (version 2 wrote the id's 32 hex digits: 36 bytes).
 */
export interface OptInOutState {
	version: 3;
	/** Dataverse change tracking: the delta link returned by the last complete read. */
	deltaLink?: string;
	/**
	 * Change tracking: the `@odata.nextLink` where a read from `deltaLink` stopped at "Max Records
	 * per Run"; the next run goes on from it (as the Dynamics Trigger does).
	 */
	dynamicsNextLink?: string;
	/** Modified-date polling (change tracking off): where the next read starts. */
	dynamicsCursor?: ModifiedOnCursor;
	/**
	 * Campaign: every profile modified before this instant was handled; profiles at it were handled
	 * when listed in `campaignSeen` (PKeys).
	 */
	campaignSince?: string;
	campaignSeen?: string[];
	/** Campaign: a read of changes cut short by "Max Records per Run", resumed by the next run. */
	campaignCatchUp?: CampaignCatchUp;
	/** The mapping pairs (`dynamicsField>campaignField`) the memory digits refer to. */
	pairKeys: string[];
	/** Packed entries by bucket (see above). Read and write them with `pairCode`/`setPairCode`. */
	memory: Record<string, string>;
	/** Entries changed in this run, written into their buckets when the state is saved. */
	pendingMemory?: Map<string, string | undefined>;
	/** Contact ids whose last sync failed: read again in the next cycle. */
	retry: string[];
	/** Settings the checkpoints belong to: a change of mappings or key starts a full pass. */
	settings?: string;
	/** A full pass under way (the first cycle, after a change of settings or an expired token). */
	pass?: FullPass;
}

/**
 * A full pass pairs every profile with its contact, a page of profiles at a time over as many
 * cycles as it takes ("Max Records per Run" profiles each), so no cycle holds a whole table.
 */
export interface FullPass {
	/** When it started: changes after this are read incrementally once it ends. */
	startedAt: string;
	/** The next page of profiles; absent before the first page. */
	nextHref?: string;
	/** Profiles looked at so far. */
	profilesRead?: number;
	/** Change tracking: the read of contact ids that yields the starting delta link, resumed. */
	baselineNextLink?: string;
	/** Change tracking: the delta link to continue from once the pass ends. */
	baselineDeltaLink?: string;
	/**
	 * The newest `lastModified` of a profile and (change tracking off) `modifiedon` of a contact when
	 * the pass began: the reads of changes start there once it ends. Absent: the table was empty.
	 */
	from?: { campaign?: string; dynamics?: string };
}

/**
 * A read of Campaign's changes, newest first, spread over runs. It handled every profile listed
 * from `top` down to `bottom` (those at `bottom` when in `bottomSeen`); profiles modified during
 * it get a date after `top` and are read by the next read, which starts once this one reaches
 * `campaignSince`.
 */
export interface CampaignCatchUp {
	/** The newest `lastModified` this read handled, and the profiles it handled at that instant. */
	top: string;
	topSeen: string[];
	/** The oldest `lastModified` it handled so far, and the profiles handled at that instant. */
	bottom: string;
	bottomSeen: string[];
	/** The URL of the last page read (absent: the first page): the next run reads it again. */
	href?: string;
}

const VERSION = 3;
/** Bounds the retry list: past it, the oldest failures wait for their next change. */
const MAX_RETRY = 10_000;

export function emptyState(): OptInOutState {
	return { version: VERSION, pairKeys: [], memory: {}, retry: [] };
}

/**
 * The stored state, through the state store: versions 1 (before full passes) and 2 (ids in hex)
 * are read with their memory and checkpoints; any other version is refused by the store's rule
 * (a state started afresh would forget remembered opt-outs' sightings).
 */
export const OPT_IN_OUT_STATE: StateKind<OptInOutState> = {
	key: 'optInOut',
	version: VERSION,
	oldest: 1,
	what: "The Opt-In/Out Sync node's saved state",
	reset:
		'Add a new Opt-In/Out Sync node in its place to start over: its first cycle checks every pair again.',
	read: readState,
	write: writeState,
};

function readState(raw: StateBag, version: number): OptInOutState {
	const stored = raw as Omit<Partial<OptInOutState>, 'version'>;
	const state: OptInOutState = {
		version: VERSION,
		pairKeys: Array.isArray(stored.pairKeys) ? stored.pairKeys : [],
		memory: {},
		retry: Array.isArray(stored.retry) ? stored.retry : [],
	};
	for (const k of ['deltaLink', 'dynamicsNextLink', 'campaignSince', 'settings'] as const) {
		if (typeof stored[k] === 'string') state[k] = stored[k];
	}
	const cursor = (raw as { dynamicsCursor?: Partial<ModifiedOnCursor> }).dynamicsCursor;
	// Before bounded reads the modified-date checkpoint was an instant: reading again the rows at
	// it is harmless.
	const since = (raw as { dynamicsSince?: unknown }).dynamicsSince;
	if (cursor && typeof cursor.modifiedOn === 'string') {
		state.dynamicsCursor = {
			modifiedOn: cursor.modifiedOn,
			id: String(cursor.id ?? ''),
			seen: strings(cursor.seen),
		};
	} else if (typeof since === 'string') {
		state.dynamicsCursor = { modifiedOn: since, id: '' };
	}
	if (Array.isArray(stored.campaignSeen)) state.campaignSeen = strings(stored.campaignSeen);
	const catchUp = stored.campaignCatchUp;
	if (catchUp && typeof catchUp.top === 'string' && typeof catchUp.bottom === 'string') {
		state.campaignCatchUp = {
			top: catchUp.top,
			topSeen: strings(catchUp.topSeen),
			bottom: catchUp.bottom,
			bottomSeen: strings(catchUp.bottomSeen),
			...(typeof catchUp.href === 'string' ? { href: catchUp.href } : {}),
		};
	}
	const memory = (
		stored.memory && typeof stored.memory === 'object' ? stored.memory : {}
	) as StateBag;
	if (version === 1) {
		// Version 1 kept one entry per contact id: pack them.
		for (const [id, code] of Object.entries(memory)) {
			if (typeof code === 'string') setPairCode(state, id, code);
		}
		flushMemory(state);
	} else {
		state.memory =
			version === 2
				? repackVersion2(memory, state.pairKeys.length)
				: (memory as Record<string, string>);
		if (stored.pass && typeof stored.pass.startedAt === 'string') state.pass = stored.pass;
	}
	return state;
}

function writeState(state: OptInOutState): StateBag {
	flushMemory(state);
	const out: StateBag = {
		pairKeys: state.pairKeys,
		memory: state.memory,
		retry: state.retry.slice(-MAX_RETRY),
	};
	if (state.deltaLink) out.deltaLink = state.deltaLink;
	if (state.dynamicsNextLink) out.dynamicsNextLink = state.dynamicsNextLink;
	if (state.dynamicsCursor) out.dynamicsCursor = state.dynamicsCursor;
	if (state.campaignSince) out.campaignSince = state.campaignSince;
	if (state.campaignSeen?.length) out.campaignSeen = state.campaignSeen;
	if (state.campaignCatchUp) out.campaignCatchUp = state.campaignCatchUp;
	if (state.settings) out.settings = state.settings;
	if (state.pass) out.pass = state.pass;
	return out;
}

function strings(value: unknown): string[] {
	return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

// ---- The packed memory ----

/** The part of a contact id a bucket entry holds (the bucket's name holds the first 2 bytes). */
const ID_CHARS = 19;
const V2_ID_DIGITS = 32;

/** A contact id as 32 lower-case hex digits, or undefined when it is no GUID. */
function packedId(id: string): string | undefined {
	const hex = id.replace(/-/g, '').toLowerCase();
	return /^[0-9a-f]{32}$/.test(hex) ? hex : undefined;
}

/**
 * 65,536 buckets: a run that remembers 5,000 pairs rewrites at most 5,000 small buckets (a few
 * entries each), not the whole memory.
 */
function bucketOf(hex: string): string {
	return hex.slice(0, 4);
}

/** The id's rest as a bucket entry holds it. */
function entryKey(hex: string): string {
	return Buffer.from(hex.slice(4), 'hex').toString('base64url');
}

function hexOf(bucket: string, key: string): string {
	return bucket + Buffer.from(key, 'base64url').toString('hex');
}

function entriesOf(bucket: string, width: number, idChars = ID_CHARS): Map<string, string> {
	const entries = new Map<string, string>();
	for (let i = 0; i + width <= bucket.length; i += width) {
		entries.set(bucket.slice(i, i + idChars), bucket.slice(i + idChars, i + width));
	}
	return entries;
}

function packBucket(entries: Map<string, string>): string {
	// One flat string (a `+=` chain would keep thousands of small pieces alive).
	const parts: string[] = [];
	for (const [key, code] of entries) parts.push(key, code);
	return parts.join('');
}

/** Version 2's buckets (ids in 32 hex digits) in this version's form. */
function repackVersion2(memory: StateBag, codeLength: number): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [name, bucket] of Object.entries(memory)) {
		if (typeof bucket !== 'string') continue;
		const entries = new Map<string, string>();
		for (const [hex, code] of entriesOf(bucket, V2_ID_DIGITS + codeLength, V2_ID_DIGITS)) {
			if (/^[0-9a-f]{32}$/.test(hex) && hex.startsWith(name)) entries.set(entryKey(hex), code);
		}
		if (entries.size) out[name] = packBucket(entries);
	}
	return out;
}

/** The memory code of one pair (one digit per mapping), or undefined when none is kept. */
export function pairCode(state: OptInOutState, id: string): string | undefined {
	const hex = packedId(id);
	if (!hex) return undefined;
	if (state.pendingMemory?.has(hex)) return state.pendingMemory.get(hex);
	const bucket = state.memory[bucketOf(hex)];
	if (!bucket) return undefined;
	const key = entryKey(hex);
	const width = ID_CHARS + state.pairKeys.length;
	for (let i = 0; i + width <= bucket.length; i += width) {
		if (bucket.startsWith(key, i)) return bucket.slice(i + ID_CHARS, i + width);
	}
	return undefined;
}

/** Keeps (or, with undefined, forgets) one pair's code until the state is saved. */
export function setPairCode(state: OptInOutState, id: string, code: string | undefined): void {
	const hex = packedId(id);
	if (!hex) return;
	(state.pendingMemory ??= new Map()).set(hex, code);
}

/** Writes the pending codes into their buckets, each touched bucket rebuilt once. */
function flushMemory(state: OptInOutState): void {
	const pending = state.pendingMemory;
	if (!pending?.size) return;
	const width = ID_CHARS + state.pairKeys.length;
	const byBucket = new Map<string, Array<[string, string | undefined]>>();
	for (const [hex, code] of pending) {
		const name = bucketOf(hex);
		let list = byBucket.get(name);
		if (!list) byBucket.set(name, (list = []));
		list.push([hex, code]);
	}
	for (const [name, changes] of byBucket) {
		const entries = entriesOf(state.memory[name] ?? '', width);
		for (const [hex, code] of changes) {
			const key = entryKey(hex);
			if (code === undefined || code.length !== state.pairKeys.length) entries.delete(key);
			else entries.set(key, code);
		}
		if (entries.size) state.memory[name] = packBucket(entries);
		else delete state.memory[name];
	}
	pending.clear();
}

/** Every remembered pair: its contact id (lower case, with dashes) and its code. */
export function rememberedPairs(state: OptInOutState): Array<[string, string]> {
	flushMemory(state);
	const width = ID_CHARS + state.pairKeys.length;
	const pairs: Array<[string, string]> = [];
	for (const [name, bucket] of Object.entries(state.memory)) {
		for (const [key, code] of entriesOf(bucket, width)) {
			const hex = hexOf(name, key);
			const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
			pairs.push([id, code]);
		}
	}
	return pairs;
}

export function decodeMemory(code: string | undefined, pairKeys: string[]): OptOutMemory {
	const memory: OptOutMemory = {};
	if (!code) return memory;
	pairKeys.forEach((key, i) => {
		const digit = code[i];
		if (digit === undefined || digit === '-') return;
		const bits = parseInt(digit, 16);
		if (Number.isNaN(bits)) return;
		const pair: OptOutPairMemory = { dynamics: (bits & 1) !== 0, campaign: (bits & 2) !== 0 };
		if (bits & 4) pair.wrote = 'dynamics';
		else if (bits & 8) pair.wrote = 'campaign';
		memory[key] = pair;
	});
	return memory;
}

/** The memory of one pair, or undefined when it need not be kept (no flag is opted out). */
export function encodeMemory(memory: OptOutMemory, pairKeys: string[]): string | undefined {
	let optedOut = false;
	const code = pairKeys
		.map((key) => {
			const pair = memory[key];
			if (!pair) return '-';
			optedOut ||= pair.dynamics || pair.campaign;
			const bits =
				(pair.dynamics ? 1 : 0) |
				(pair.campaign ? 2 : 0) |
				(pair.wrote === 'dynamics' ? 4 : 0) |
				(pair.wrote === 'campaign' ? 8 : 0);
			return bits.toString(16);
		})
		.join('');
	return optedOut ? code : undefined;
}

/** Stores or forgets one pair's memory. */
export function rememberPair(state: OptInOutState, id: string, memory: OptOutMemory): void {
	setPairCode(state, id, encodeMemory(memory, state.pairKeys));
}
