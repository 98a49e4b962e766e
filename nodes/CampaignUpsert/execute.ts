import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { CampaignApiError, type CampaignClient } from '../../lib/campaign/client';
import { isDuplicateKeyError, namesCause } from '../../lib/campaign/errors';
import { findByKey, resolveKeyAccess, type KeyAccess } from '../../lib/campaign/keys';
import { AdaptiveConcurrency, mapWithConcurrency } from '../../lib/http/limiter';
import { TransportError } from '../../lib/http/types';
import type { SyncRecord, SyncTarget } from '../../lib/sync/envelope';
import {
	countOutcome,
	createSummary,
	summaryItem,
	type RecordOutcome,
} from '../../lib/sync/summary';
import { planUpsert, type CampaignMatch } from '../../lib/sync/upsert-plan';
import {
	campaignClient,
	learntCampaignConcurrency,
	rememberCampaignConcurrency,
} from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { readSyncInput } from '../shared/items';
import { checkedAgainstFreshMetadata } from '../shared/metadata';
import { campaignResourcePath } from '../shared/methods';
import { holdsLink, LinkResolver, type Preparation, type PreparedRecord } from './links';

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
	/** What was written differently from the mapped record, e.g. a link left as is. */
	warnings?: string[];
}

/** The settings that decide how one resource's records are found: resource, key, filter. */
function accessId(target: SyncTarget): string {
	return [target.resource, target.key, target.keyFilter ?? '', target.keyUnique === true].join(
		'\u0000',
	);
}

/**
 * A failed create that may have hit an existing record: Campaign refused a duplicate key (409 or
 * its 500 naming it; Campaign v8 names no cause in its 500s), or the answer was lost.
 */
function mayExist(error: unknown): boolean {
	return (
		isDuplicateKeyError(error) ||
		error instanceof TransportError ||
		(error instanceof CampaignApiError && error.status >= 500 && !namesCause(error.serviceMessage))
	);
}

function isNotFound(error: unknown): boolean {
	return error instanceof CampaignApiError && error.status === 404;
}

/** One record: find by key (unless an initial load can create first), then create/update/delete. */
async function upsertRecord(
	client: CampaignClient,
	access: KeyAccess,
	links: LinkResolver,
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

	// An initial load into a key Campaign itself keeps unique (the user's declaration) creates
	// straight away: Campaign refuses a duplicate, and then the record is looked up and updated
	// like any other. One request per new record. Without that declaration every create is
	// preceded by a lookup, as nothing else stops a second record with the same key.
	if (meta.op === 'upsert' && meta.load === 'initial' && access.unique) {
		const linked = await links.prepare(record, () => true);
		if (!linked.ok) return linkFailed(base, linked, failed);
		const plan = planUpsert(linked.prepared.record, []);
		if (plan.action === 'create') {
			try {
				// Replay-safe: a repeated create of the same key is refused as a duplicate.
				const created = await client.create(access.path, plan.fields, { replaySafe: true });
				return { ...base, outcome: 'created', pKey: created.PKey, fields: fieldsOf(plan.fields) };
			} catch (error) {
				if (!mayExist(error)) return failed(base, error);
				// Refused, lost or failed without a cause: the lookup below tells which.
			}
		}
	}

	for (let attempt = 1; ; attempt++) {
		const matches = (await findByKey(client, access, keyValue)) as CampaignMatch[];
		const found = matches.length === 1 ? matches[0] : undefined;
		// Links are looked up only where they are written: never for a duplicated key, and on an
		// incremental update only for fields whose "Apply updates" is on.
		const written = (field: string) =>
			matches.length < 2 &&
			(!found || meta.load !== 'incremental' || (meta.updateFields ?? []).includes(field));
		const linked = await links.prepare(record, written);
		if (!linked.ok) return linkFailed(base, linked, failed);
		const prepared = linked.prepared;
		const sameLinks = found && (await links.sameLinks(prepared, found));
		const plan = planUpsert(prepared.record, matches, { sameLinks });
		const warned = withClearedLinks(base, prepared, found);
		try {
			switch (plan.action) {
				case 'fail':
					return { ...base, error: plan.message, errorCode: 'DUPLICATE_KEY' };
				case 'skip':
					return { ...base, outcome: 'skipped', reason: plan.reason };
				case 'unchanged':
					return { ...warned, outcome: 'unchanged', pKey: plan.pKey, reason: plan.reason };
				case 'create': {
					const created = await client.create(access.path, plan.fields, {
						replaySafe: access.unique,
					});
					return { ...base, outcome: 'created', pKey: created.PKey, fields: fieldsOf(plan.fields) };
				}
				case 'update':
					await client.patch(plan.href ?? client.recordHref(access.path, plan.pKey), plan.fields);
					return { ...warned, outcome: 'updated', pKey: plan.pKey, fields: fieldsOf(plan.fields) };
				case 'delete': {
					await client.delete(plan.href ?? client.recordHref(access.path, plan.pKey));
					return { ...base, outcome: 'deleted', pKey: plan.pKey, reason: plan.reason };
				}
			}
		} catch (error) {
			// Someone changed Campaign between our lookup and our write (a record deleted under an
			// update, a record created under a create), or the answer was lost: look again, once.
			const retry =
				isNotFound(error) || isDuplicateKeyError(error) || error instanceof TransportError;
			if (!retry || attempt >= 2) return failed(base, error);
		}
	}
}

/**
 * A lookup cleared in Dynamics, whose link Campaign still holds: Adobe documents no way to empty a
 * link, so it is left as is (never guessed at) and the result says so.
 */
function withClearedLinks(
	base: UpsertResult,
	prepared: PreparedRecord,
	found: CampaignMatch | undefined,
): UpsertResult {
	const links = prepared.record._sync.target?.links ?? {};
	const warnings = prepared.cleared
		.filter((field) => holdsLink(found, field))
		.map(
			(field) =>
				`Campaign field "${field}": "${links[field].dynamicsField}" is empty in Dynamics, but Campaign offers no documented way to empty a link, so the link was left as is.`,
		);
	return warnings.length ? { ...base, warnings } : base;
}

/** A record failed by one of its links (no linked record, several, a failed lookup). */
function linkFailed(
	base: UpsertResult,
	failure: Extract<Preparation, { ok: false }>,
	failed: (base: UpsertResult, error: unknown) => UpsertResult,
): UpsertResult {
	if (!failure.cause) return { ...base, error: failure.message, errorCode: failure.errorCode };
	const result = failed(base, failure.cause);
	return {
		...result,
		error: `${failure.message}: ${result.error?.replace(/\.+$/, '')}. The record was not written.`,
		errorCode: result.errorCode ?? failure.errorCode,
	};
}

function startConcurrency(ctx: IExecuteFunctions, max: number, adapt: boolean) {
	if (!adapt) return new AdaptiveConcurrency({ max, initial: max, slowStart: false, fixed: true });
	return new AdaptiveConcurrency({ max, learnt: learntCampaignConcurrency(ctx) });
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { records, runs, strays } = readSyncInput(this);
	// The most records in flight; with "Adapt Concurrency" on, the ceiling of what Campaign is asked.
	const max = Math.max(1, Math.floor(this.getNodeParameter('concurrency', 0, 20) as number));
	const adapt = this.getNodeParameter('adaptConcurrency', 0, true) !== false;
	const concurrency = startConcurrency(this, max, adapt);
	// Answers 429/503 (Campaign's gateway throttling) that were waited out and retried.
	let throttled = 0;
	const continueOnFail = this.continueOnFail();
	const node = this.getNode();

	let client: CampaignClient;
	let links: LinkResolver;
	const access = new Map<string, KeyAccess>();
	try {
		client = await campaignClient(
			this,
			{
				onRetry: ({ reason }) => {
					if (reason.kind === 'status' && (reason.status === 429 || reason.status === 503)) {
						throttled++;
					}
				},
			},
			{ concurrency },
		);
		// Settings are checked once per Campaign table, before any record is written.
		const resolveAll = async () => {
			access.clear();
			links = new LinkResolver(client);
			for (const { record } of records) {
				const target = record._sync.target;
				if (!target || access.has(accessId(target))) continue;
				access.set(
					accessId(target),
					await resolveKeyAccess(client, campaignResourcePath(target.resource), target.key, {
						filter: target.keyFilter,
						unique: target.keyUnique,
						verify: true,
					}),
				);
				for (const [field, link] of Object.entries(target.links ?? {})) {
					await links.resolveAccess(field, link);
				}
			}
		};
		await checkedAgainstFreshMetadata([client], resolveAll);
	} catch (error) {
		throw toNodeError(node, error);
	}

	// Records beyond what Campaign is asked at once wait at the gate of the client's transport.
	const results = await mapWithConcurrency(records, max, async ({ record }) => {
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
		const keyed = access.get(accessId(meta.target))!;
		try {
			return await upsertRecord(client, keyed, links, record, failed);
		} catch (error) {
			return failed({ ...base, resource: meta.target.resource, key: meta.target.key }, error);
		}
	});

	if (adapt) rememberCampaignConcurrency(this, concurrency.state());

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
				concurrency: concurrency.found,
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
