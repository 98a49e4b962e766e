import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { isSyncRecord, SYNC_KEY, type SyncRecord } from '../../lib/sync/envelope';
import { isRunItem, RUN_KEY, type RunReport } from './run';

export interface InputRecord {
	record: SyncRecord;
	/** Index of the input item, for pairedItem and error messages. */
	index: number;
}

export interface InputRun {
	report: RunReport & IDataObject;
	index: number;
}

/**
 * Splits a node's input into sync records and run reports. An item that is neither fails the run
 * with a message saying how to wire the nodes (a settings problem, the same for every item).
 */
export function readSyncInput(ctx: IExecuteFunctions): {
	records: InputRecord[];
	runs: InputRun[];
} {
	const records: InputRecord[] = [];
	const runs: InputRun[] = [];
	ctx.getInputData().forEach((item, index) => {
		if (isRunItem(item.json)) {
			runs.push({ report: item.json[RUN_KEY] as RunReport & IDataObject, index });
		} else if (isSyncRecord(item.json)) {
			records.push({ record: item.json as unknown as SyncRecord, index });
		} else {
			const hasKey = item.json !== null && typeof item.json === 'object' && SYNC_KEY in item.json;
			throw new NodeOperationError(
				ctx.getNode(),
				`Input item ${index} has ${hasKey ? 'an invalid' : 'no'} "_sync" part`,
				{
					itemIndex: index,
					description:
						'This node expects items from the Dynamics 365 Trigger (through Record Filter, Field Replacement or Apply Field Mapping). If a Set or Code node sits in between, keep the "_sync" field of each item.',
				},
			);
		}
	});
	return { records, runs };
}

export function recordItem(record: SyncRecord, index: number): INodeExecutionData {
	return { json: record as unknown as IDataObject, pairedItem: { item: index } };
}

/** Run reports go on unchanged (with what this node adds), after the records. */
export function runItems(runs: InputRun[], addition: IDataObject = {}): INodeExecutionData[] {
	return runs.map(({ report, index }) => ({
		json: { [RUN_KEY]: { ...report, ...addition } },
		pairedItem: { item: index },
	}));
}
