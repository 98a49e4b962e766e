import type { IDataObject } from 'n8n-workflow';

import type { OptOutMemory, OptOutPairMemory } from '../../lib/sync/optout';

/**
 * What the Opt-In/Out Sync node keeps between cycles, in the workflow's static data (so it
 * survives restarts and works under queue mode). One place reads and writes it.
 *
 * The echo memory holds, per contact id, one hex digit per mapping (in `pairKeys` order): bit 0 the
 * Dynamics value, bit 1 the Campaign value, bit 2 "we wrote Dynamics", bit 3 "we wrote Campaign";
 * `-` when the pair has no memory yet. About 40 bytes per contact, so 100,000 contacts stay
 * near 4 MB.
 */
export interface OptInOutState {
	version: 1;
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
	/** Settings the checkpoints belong to: a change of mappings starts a full read. */
	settings?: string;
}

const STATE_KEY = 'optInOut';
/** Bounds the retry list: past it, the oldest failures wait for their next change. */
const MAX_RETRY = 10_000;

export function readState(staticData: IDataObject): OptInOutState {
	const raw = staticData[STATE_KEY] as Partial<OptInOutState> | undefined;
	if (!raw || raw.version !== 1) return { version: 1, pairKeys: [], memory: {}, retry: [] };
	return {
		version: 1,
		deltaLink: raw.deltaLink,
		dynamicsSince: raw.dynamicsSince,
		campaignSince: raw.campaignSince,
		pairKeys: Array.isArray(raw.pairKeys) ? raw.pairKeys : [],
		memory: raw.memory && typeof raw.memory === 'object' ? raw.memory : {},
		retry: Array.isArray(raw.retry) ? raw.retry : [],
		settings: raw.settings,
	};
}

export function writeState(staticData: IDataObject, state: OptInOutState): void {
	const out: IDataObject = {
		version: state.version,
		pairKeys: state.pairKeys,
		memory: state.memory,
		retry: state.retry.slice(-MAX_RETRY),
	};
	if (state.deltaLink) out.deltaLink = state.deltaLink;
	if (state.dynamicsSince) out.dynamicsSince = state.dynamicsSince;
	if (state.campaignSince) out.campaignSince = state.campaignSince;
	if (state.settings) out.settings = state.settings;
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

export function encodeMemory(memory: OptOutMemory, pairKeys: string[]): string {
	return pairKeys
		.map((key) => {
			const pair = memory[key];
			if (!pair) return '-';
			const bits =
				(pair.dynamics ? 1 : 0) |
				(pair.campaign ? 2 : 0) |
				(pair.wrote === 'dynamics' ? 4 : 0) |
				(pair.wrote === 'campaign' ? 8 : 0);
			return bits.toString(16);
		})
		.join('');
}
