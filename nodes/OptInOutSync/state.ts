import type { IDataObject } from 'n8n-workflow';

import type { OptOutMemory, OptOutPairMemory } from '../../lib/sync/optout';

/**
 * What the Opt-In/Out Sync node keeps between cycles, in the workflow's static data (so it
 * survives restarts and works under queue mode). One place reads and writes it.
 *
 * The memory holds, per contact id, one hex digit per mapping (in `pairKeys` order): bit 0 the
 * Dynamics value, bit 1 the Campaign value, bit 2 "we wrote Dynamics", bit 3 "we wrote Campaign";
 * `-` when the pair has no memory yet. Only pairs where some flag is opted out are kept: a pair
 * with no memory is decided exactly as one whose flags were all opted in on both sides, so the
 * state grows with the people who opted out, not with the table.
 */
export interface OptInOutState {
	version: 2;
	/** Dataverse change tracking: the delta link returned by the last complete read. */
	deltaLink?: string;
	/** Modified-date polling (change tracking off): the newest `modifiedon` read. */
	dynamicsSince?: string;
	/** The newest Campaign profile `lastModified` read. */
	campaignSince?: string;
	/** The mapping pairs (`dynamicsField>campaignField`) the memory digits refer to. */
	pairKeys: string[];
	memory: Record<string, string>;
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
}

const STATE_KEY = 'optInOut';
const VERSION = 2;
/** Bounds the retry list: past it, the oldest failures wait for their next change. */
const MAX_RETRY = 10_000;

function emptyState(): OptInOutState {
	return { version: VERSION, pairKeys: [], memory: {}, retry: [] };
}

/**
 * The stored state. Version 1 (before full passes) keeps its memory and checkpoints; anything else
 * unknown starts afresh, which is safe: a pair without memory keeps every opt-out.
 */
export function readState(staticData: IDataObject): OptInOutState {
	const raw = staticData[STATE_KEY] as
		(Omit<Partial<OptInOutState>, 'version'> & { version?: number }) | undefined;
	if (!raw || (raw.version !== 1 && raw.version !== VERSION)) return emptyState();
	const state: OptInOutState = {
		version: VERSION,
		pairKeys: Array.isArray(raw.pairKeys) ? raw.pairKeys : [],
		memory: raw.memory && typeof raw.memory === 'object' ? raw.memory : {},
		retry: Array.isArray(raw.retry) ? raw.retry : [],
	};
	for (const k of ['deltaLink', 'dynamicsSince', 'campaignSince', 'settings'] as const) {
		if (typeof raw[k] === 'string') state[k] = raw[k];
	}
	if (raw.version === VERSION && raw.pass && typeof raw.pass.startedAt === 'string') {
		state.pass = raw.pass;
	}
	return state;
}

export function writeState(staticData: IDataObject, state: OptInOutState): void {
	const out: IDataObject = {
		version: VERSION,
		pairKeys: state.pairKeys,
		memory: state.memory,
		retry: state.retry.slice(-MAX_RETRY),
	};
	if (state.deltaLink) out.deltaLink = state.deltaLink;
	if (state.dynamicsSince) out.dynamicsSince = state.dynamicsSince;
	if (state.campaignSince) out.campaignSince = state.campaignSince;
	if (state.settings) out.settings = state.settings;
	if (state.pass) out.pass = state.pass as unknown as IDataObject;
	staticData[STATE_KEY] = out;
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
	const code = encodeMemory(memory, state.pairKeys);
	if (code === undefined) delete state.memory[id];
	else state.memory[id] = code;
}
