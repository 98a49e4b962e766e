/**
 * Campaign Upsert's flow: the mapped records written to Campaign, one result per record, a run
 * summary and the concurrency Campaign was found to take. Campaign has no upsert, so a record is
 * found by its key first (unless Campaign itself refuses a duplicate), then created, updated or
 * deleted as the sync core's plan says.
 */
import { CampaignApiError, campaignResourcePath, type CampaignClient } from '../campaign/client';
import { isDuplicateKeyError, namesCause } from '../campaign/errors';
import { findByKey, resolveKeyAccess, type KeyAccess } from '../campaign/keys';
import type { HttpHooks } from '../http/hooks';
import {
	AdaptiveConcurrency,
	mapWithConcurrency,
	type AdaptiveConcurrencyState,
} from '../http/limiter';
import { TransportError } from '../http/types';
import type { SyncRecord, SyncTarget } from '../sync/envelope';
import {
	countOutcome,
	createSummary,
	summaryItem,
	type RecordOutcome,
	type SyncSummary,
} from '../sync/summary';
import { planUpsert, type CampaignMatch } from '../sync/upsert-plan';
import { holdsLink, LinkResolver, type Preparation, type PreparedRecord } from './campaign-links';
import { failureMessage } from './failure';
import { checkedAgainstFreshMetadata } from './metadata';
import { wholeNumberSetting } from './settings';

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

export interface CampaignWriteSettings {
	/** The most records in flight; with `adapt`, the ceiling of what Campaign is asked. */
	concurrency: number;
	/** Find the concurrency Campaign takes instead of always using `concurrency`. */
	adapt: boolean;
}

/** The settings from the node's parameters (`parameter(name, fallback)`). */
export function campaignWriteSettings(
	parameter: (name: string, fallback: unknown) => unknown,
): CampaignWriteSettings {
	return {
		// The editor keeps it from 1 to 200; an imported workflow may not.
		concurrency: wholeNumberSetting('Concurrency', parameter('concurrency', 20), {
			fallback: 20,
			max: 200,
		}),
		adapt: parameter('adaptConcurrency', true) !== false,
	};
}

/** What a run report tells this flow: the backlog the trigger left. */
export interface RunFigures {
	backlog?: number;
	backlogAtLeast?: boolean;
}

export interface CampaignWriteInput<Run extends RunFigures = RunFigures> {
	records: ReadonlyArray<{ record: SyncRecord; index: number }>;
	/** Input items that are not records: each fails with its message. */
	strays: ReadonlyArray<{ message: string; index: number }>;
	/** The run reports that came with the records (the first is folded into the summary). */
	runs: ReadonlyArray<{ report: Run; index: number }>;
}

/** What the Campaign client's transport gets from the flow: its gate and its hooks. */
export interface CampaignTransportOptions {
	concurrency: AdaptiveConcurrency;
	hooks: HttpHooks;
}

export type CampaignWriteSummary<Run extends RunFigures = RunFigures> = SyncSummary & {
	processed: number;
	/** Answers 429/503 (Campaign's gateway throttling) that were waited out and retried. */
	throttled?: number;
	/** The concurrency reached. */
	concurrency: number;
	run?: Run;
};

export interface CampaignWriteOutcome<Run extends RunFigures = RunFigures> {
	/** One result per record and stray, in input order. */
	results: Array<{ result: UpsertResult; index: number }>;
	summary: CampaignWriteSummary<Run>;
	/** The input items the summary stands for: the run reports, or the records without one. */
	summaryItems: number[];
	/** What later runs start from (only when adapting). */
	learnt?: AdaptiveConcurrencyState;
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

/** A record that failed on `error`: the message names it, the code is Campaign's. */
function failed(base: UpsertResult, error: unknown): UpsertResult {
	return {
		...base,
		outcome: 'failed',
		error: failureMessage(error, base.id),
		errorCode: error instanceof CampaignApiError ? error.code || String(error.status) : undefined,
	};
}

/** One record: find by key (unless an initial load can create first), then create/update/delete. */
async function upsertRecord(
	client: CampaignClient,
	access: KeyAccess,
	links: LinkResolver,
	record: SyncRecord,
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
		if (!linked.ok) return linkFailed(base, linked);
		const plan = planUpsert(linked.prepared.record, []);
		if (plan.action === 'create') {
			try {
				// Replay-safe: a repeated create of the same key is refused as a duplicate.
				const created = await client.create(access.path, plan.fields, { repeatSafe: true });
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
		if (!linked.ok) return linkFailed(base, linked);
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
						repeatSafe: access.unique,
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
): UpsertResult {
	if (!failure.cause) return { ...base, error: failure.message, errorCode: failure.errorCode };
	const result = failed(base, failure.cause);
	return {
		...result,
		error: `${failure.message}: ${result.error?.replace(/\.+$/, '')}. The record was not written.`,
		errorCode: result.errorCode ?? failure.errorCode,
	};
}

function startConcurrency(
	settings: CampaignWriteSettings,
	learnt: AdaptiveConcurrencyState | undefined,
): AdaptiveConcurrency {
	const max = settings.concurrency;
	if (!settings.adapt) {
		return new AdaptiveConcurrency({ max, initial: max, slowStart: false, fixed: true });
	}
	return new AdaptiveConcurrency({ max, learnt });
}

/**
 * Writes the records. Settings are checked once per Campaign table, before any record is written
 * (a settings problem throws); after that a failure fails its record only.
 */
export async function writeToCampaign<Run extends RunFigures>(
	connect: (transport: CampaignTransportOptions) => Promise<CampaignClient>,
	input: CampaignWriteInput<Run>,
	settings: CampaignWriteSettings,
	learnt: AdaptiveConcurrencyState | undefined,
): Promise<CampaignWriteOutcome<Run>> {
	const { records, strays, runs } = input;
	const concurrency = startConcurrency(settings, learnt);
	let throttled = 0;
	const client = await connect({
		concurrency,
		hooks: {
			onRetry: ({ reason }) => {
				if (reason.kind === 'status' && (reason.status === 429 || reason.status === 503)) {
					throttled++;
				}
			},
		},
	});

	const access = new Map<string, KeyAccess>();
	let links = new LinkResolver(client);
	await checkedAgainstFreshMetadata([client], async () => {
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
	});

	// Records beyond what Campaign is asked at once wait at the gate of the client's transport.
	const written = await mapWithConcurrency(records, settings.concurrency, async ({ record }) => {
		const meta = record._sync;
		const base: UpsertResult = { outcome: 'failed', table: meta.table, id: meta.id };
		if (meta.error) return { ...base, error: `${meta.error.message} (in ${meta.error.node})` };
		if (!meta.target) {
			return {
				...base,
				error: `Record ${meta.id} has no Campaign target: put Apply Field Mapping before Campaign Upsert.`,
			};
		}
		try {
			return await upsertRecord(client, access.get(accessId(meta.target))!, links, record);
		} catch (error) {
			return failed({ ...base, resource: meta.target.resource, key: meta.target.key }, error);
		}
	});

	const results = [
		...written.map((result, i) => ({ result, index: records[i].index })),
		...strays.map(({ index, message }) => ({
			result: { outcome: 'failed', table: '', id: '', error: message } as UpsertResult,
			index,
		})),
	].sort((a, b) => a.index - b.index);

	const counts = createSummary();
	for (const { result } of results) countOutcome(counts, result.outcome);
	counts.backlog = runs.reduce((max, r) => Math.max(max, Number(r.report.backlog ?? 0)), 0);
	if (runs.some((r) => r.report.backlogAtLeast)) counts.backlogAtLeast = true;
	return {
		results,
		summary: {
			...summaryItem(counts).summary,
			...(throttled ? { throttled } : {}),
			concurrency: concurrency.found,
			...(runs[0] ? { run: runs[0].report } : {}),
		},
		summaryItems: (runs.length ? runs : records).map((r) => r.index),
		...(settings.adapt ? { learnt: concurrency.state() } : {}),
	};
}
