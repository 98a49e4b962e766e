import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { isSyncRecord, SYNC_KEY, type SyncRecord } from '../../lib/sync/envelope';
import { isRunItem, RUN_KEY, type RunReport } from '../../lib/flows/run-report';

export interface InputRecord {
	record: SyncRecord;
	/** Index of the input item, for pairedItem and error messages. */
	index: number;
}

export interface InputRun {
	report: RunReport & IDataObject;
	index: number;
}

/** An input item that is neither a sync record nor a run report (e.g. a Set node dropped `_sync`). */
export interface InputStray {
	json: IDataObject;
	index: number;
	/** Why it cannot be synchronized, and how to wire the nodes instead. */
	message: string;
}

export interface SyncInput {
	records: InputRecord[];
	runs: InputRun[];
	strays: InputStray[];
}

/**
 * Splits a node's input into sync records, run reports and strays. A stray is one item's problem,
 * not the run's: transform nodes pass it on untouched, and Campaign Upsert reports it as failed.
 */
export function readSyncInput(ctx: IExecuteFunctions): SyncInput {
	const input: SyncInput = { records: [], runs: [], strays: [] };
	ctx.getInputData().forEach((item, index) => {
		if (isRunItem(item.json)) {
			input.runs.push({ report: item.json[RUN_KEY] as RunReport & IDataObject, index });
		} else if (isSyncRecord(item.json)) {
			input.records.push({ record: item.json as unknown as SyncRecord, index });
		} else {
			const keys = Object.keys(item.json ?? {});
			const shown = keys.filter((k) => k !== SYNC_KEY).slice(0, 5);
			const fields = shown.length
				? ` (fields: ${shown.join(', ')}${keys.length > shown.length + 1 ? ', …' : ''})`
				: '';
			input.strays.push({
				json: item.json,
				index,
				message: `An item${fields} has ${keys.includes(SYNC_KEY) ? 'an invalid' : 'no'} "_sync" part, so it cannot be synchronized. The sync nodes expect items from the Dynamics 365 Trigger; if a Set or Code node sits in between, keep the "_sync" field of each item.`,
			});
		}
	});
	return input;
}

export function recordItem(record: SyncRecord, index: number): INodeExecutionData {
	return { json: record as unknown as IDataObject, pairedItem: { item: index } };
}

/**
 * What a transform node passes on besides its records: strays untouched (the chain's last node
 * reports them), then the run reports with what this node adds.
 */
export function passedOn(input: SyncInput, addition: IDataObject = {}): INodeExecutionData[] {
	return [
		...input.strays.map(({ json, index }) => ({ json, pairedItem: { item: index } })),
		...input.runs.map(({ report, index }) => ({
			json: { [RUN_KEY]: { ...report, ...addition } },
			pairedItem: { item: index },
		})),
	];
}
