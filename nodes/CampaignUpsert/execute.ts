import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	CampaignApiError,
	type CampaignClient,
	type CampaignFieldInfo,
} from '../../lib/campaign/client';
import { mapWithConcurrency } from '../../lib/http/limiter';
import { TransportError } from '../../lib/http/types';
import type { SyncRecord } from '../../lib/sync/envelope';
import {
	countOutcome,
	createSummary,
	summaryItem,
	type RecordOutcome,
} from '../../lib/sync/summary';
import { planUpsert, type CampaignMatch } from '../../lib/sync/upsert-plan';
import { campaignClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { readSyncInput } from '../shared/items';
import { campaignResourcePath } from '../shared/methods';

/** What happened to one record, as its output item says it. */
export interface UpsertResult {
	outcome: RecordOutcome;
	table: string;
	id: string;
	resource?: string;
	key?: string;
	keyValue?: unknown;
	pKey?: string;
	/** Campaign fields written. */
	fields?: string[];
	reason?: string;
	error?: string;
	errorCode?: string;
}

/** How records of one Campaign resource are found by key. */
interface KeyAccess {
	path: string;
	filter: string;
	unique: boolean;
}

async function keyAccess(
	client: CampaignClient,
	resource: string,
	key: string,
): Promise<KeyAccess> {
	const path = campaignResourcePath(resource);
	const type = await client.resourceType(path);
	const field: CampaignFieldInfo | undefined = type.fields.find((f) => f.name === key);
	if (!field) {
		throw new Error(
			`The Campaign table "${resource}" has no field "${key}": choose its Campaign primary key again in Apply Field Mapping`,
		);
	}
	if (!field.filters.length) {
		throw new Error(
			`The Campaign field "${resource}.${key}" has no filter to find records by it: define a by<Key> filter on the resource in Campaign, or choose another Campaign primary key`,
		);
	}
	return { path, filter: field.filters[0], unique: field.unique };
}

function isConflict(error: unknown): boolean {
	return (
		error instanceof CampaignApiError &&
		(error.status === 409 || /unique|duplicate/i.test(error.serviceMessage))
	);
}

function isNotFound(error: unknown): boolean {
	return error instanceof CampaignApiError && error.status === 404;
}

/** One record: find by key (unless an initial load can create first), then create/update/delete. */
async function upsertRecord(
	client: CampaignClient,
	access: KeyAccess,
	record: SyncRecord,
	failed: (base: UpsertResult, error: unknown) => UpsertResult,
): Promise<UpsertResult> {
	const meta = record._sync;
	const target = meta.target!;
	const keyValue = record[target.key];
	const base: UpsertResult = {
		outcome: 'failed',
		table: meta.table,
		id: meta.id,
		resource: target.resource,
		key: target.key,
		keyValue,
	};
	const fieldsOf = (fields: Record<string, unknown>) => Object.keys(fields);

	// An initial load into a unique key creates straight away: Campaign refuses a duplicate with
	// 409, and then the record is looked up and updated like any other. One request per new record.
	if (meta.op === 'upsert' && meta.load === 'initial' && access.unique) {
		const plan = planUpsert(record, []);
		if (plan.action === 'create') {
			try {
				// Replay-safe: a repeated create of the same unique key is refused with 409.
				const created = await client.create(access.path, plan.fields, { replaySafe: true });
				return { ...base, outcome: 'created', pKey: created.PKey, fields: fieldsOf(plan.fields) };
			} catch (error) {
				if (!isConflict(error) && !(error instanceof TransportError)) return failed(base, error);
				// 409: it exists. No answer: it may exist now. Either way, look it up.
			}
		}
	}

	for (let attempt = 1; ; attempt++) {
		const matches = (await client.findByFilter(access.path, access.filter, {
			[target.key]: String(keyValue),
		})) as CampaignMatch[];
		const plan = planUpsert(record, matches);
		try {
			switch (plan.action) {
				case 'fail':
					return { ...base, error: plan.message, errorCode: 'DUPLICATE_KEY' };
				case 'skip':
					return { ...base, outcome: 'skipped', reason: plan.reason };
				case 'unchanged':
					return { ...base, outcome: 'unchanged', pKey: plan.pKey, reason: plan.reason };
				case 'create': {
					const created = await client.create(access.path, plan.fields, {
						replaySafe: access.unique,
					});
					return { ...base, outcome: 'created', pKey: created.PKey, fields: fieldsOf(plan.fields) };
				}
				case 'update':
					await client.patch(client.recordHref(access.path, plan.pKey), plan.fields);
					return { ...base, outcome: 'updated', pKey: plan.pKey, fields: fieldsOf(plan.fields) };
				case 'delete': {
					await client.delete(client.recordHref(access.path, plan.pKey));
					return { ...base, outcome: 'deleted', pKey: plan.pKey, reason: plan.reason };
				}
			}
		} catch (error) {
			// Someone changed Campaign between our lookup and our write (a record deleted under an
			// update, a record created under a create), or the answer was lost: look again, once.
			const retry = isNotFound(error) || isConflict(error) || error instanceof TransportError;
			if (!retry || attempt >= 2) return failed(base, error);
		}
	}
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { records, runs, strays } = readSyncInput(this);
	const concurrency = Math.max(
		1,
		Math.floor(this.getNodeParameter('concurrency', 0, 20) as number),
	);
	// Answers 429/503 (Campaign's gateway throttling) that were waited out and retried.
	let throttled = 0;
	const continueOnFail = this.continueOnFail();
	const node = this.getNode();

	let client: CampaignClient;
	const access = new Map<string, KeyAccess>();
	try {
		client = await campaignClient(this, {
			onRetry: ({ reason }) => {
				if (reason.kind === 'status' && (reason.status === 429 || reason.status === 503)) {
					throttled++;
				}
			},
		});
		// Settings are checked once per Campaign table, before any record is written.
		for (const { record } of records) {
			const target = record._sync.target;
			if (!target) continue;
			const id = `${target.resource}\u0000${target.key}`;
			if (!access.has(id)) access.set(id, await keyAccess(client, target.resource, target.key));
		}
	} catch (error) {
		throw toNodeError(node, error);
	}

	const results = await mapWithConcurrency(records, concurrency, async ({ record }) => {
		const meta = record._sync;
		const base: UpsertResult = { outcome: 'failed', table: meta.table, id: meta.id };
		if (meta.error) return { ...base, error: `${meta.error.message} (in ${meta.error.node})` };
		if (!meta.target) {
			return {
				...base,
				error: `Record ${meta.id} has no Campaign target: put Apply Field Mapping before Campaign Upsert.`,
			};
		}
		const failed = (partial: UpsertResult, error: unknown): UpsertResult => ({
			...partial,
			outcome: 'failed',
			error: toNodeError(node, error, { recordId: meta.id }).message,
			errorCode: error instanceof CampaignApiError ? error.code || String(error.status) : undefined,
		});
		const keyed = access.get(`${meta.target.resource}\u0000${meta.target.key}`)!;
		try {
			return await upsertRecord(client, keyed, record, failed);
		} catch (error) {
			return failed({ ...base, resource: meta.target.resource, key: meta.target.key }, error);
		}
	});

	const outcomes = [
		...results.map((result, i) => ({ result, index: records[i].index })),
		...strays.map(({ index, message }) => ({
			result: { outcome: 'failed', table: '', id: '', error: message } as UpsertResult,
			index,
		})),
	].sort((a, b) => a.index - b.index);

	const summary = createSummary();
	const out: INodeExecutionData[] = [];
	const failures: UpsertResult[] = [];
	outcomes.forEach(({ result, index }) => {
		countOutcome(summary, result.outcome);
		const item: INodeExecutionData = {
			json: result as unknown as IDataObject,
			pairedItem: { item: index },
		};
		if (result.outcome === 'failed') {
			failures.push(result);
			if (!continueOnFail) return;
			// n8n routes an item whose json is only { error, details } to the error output (when it
			// is on) and keeps that json; an item-level `error` would reduce it to the message alone.
			item.json = { error: result.error ?? 'failed', details: result as unknown as IDataObject };
		}
		out.push(item);
	});
	summary.backlog = runs.reduce((max, r) => Math.max(max, Number(r.report.backlog ?? 0)), 0);
	if (runs.some((r) => r.report.backlogAtLeast)) summary.backlogAtLeast = true;
	out.push({
		json: {
			_summary: {
				...summaryItem(summary).summary,
				...(throttled ? { throttled } : {}),
				...(runs[0] ? { run: runs[0].report } : {}),
			},
		} as IDataObject,
		pairedItem: runs.length
			? runs.map((r) => ({ item: r.index }))
			: records.map((r) => ({ item: r.index })),
	});

	if (failures.length && !continueOnFail) {
		const first = failures[0];
		throw new NodeOperationError(
			node,
			`${failures.length} of ${outcomes.length} record(s) could not be written to Campaign; the others were written. First: ${first.error}`,
			{
				description: failures
					.slice(0, 20)
					.map((f) => `${f.table} ${f.id}: ${f.error}`)
					.join('\n'),
			},
		);
	}
	return [out];
}
