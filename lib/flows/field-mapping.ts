/**
 * Apply Field Mapping's flow: the settings checked against the Dynamics table and the Campaign
 * resource, then each record mapped to Campaign's fields. A record that cannot be mapped travels
 * on, marked, so Campaign Upsert reports it with the run's other outcomes. Tables and keys are
 * fixed once the mapping has run, and each table is mapped once per workflow (the spec's rules).
 */
import type { CampaignClient } from '../campaign/client';
import type { DataverseClient } from '../dynamics/client';
import type { StateBag, StateKind } from '../state/store';
import { cloneRecord, type SyncRecord } from '../sync/envelope';
import { SyncSettingsError } from '../sync/errors';
import {
	compileMapping,
	type CompiledMapping,
	type FieldMapping,
	type MappingResult,
	type TableMapping,
} from '../sync/mapping';
import { hasColumn } from '../sync/values';
import { checkedAgainstFreshMetadata, syncCampaignFields, syncColumns } from './metadata';

export interface FieldMappingSettings {
	/** The node's name: marks the records it fails, and claims its tables. */
	node: string;
	/** The primary key chosen in the settings; empty: the detected one. */
	chosenKey: string;
	/** The mapping as set, before the table's primary key is detected. */
	mapping: Omit<TableMapping, 'dynamicsKey'>;
}

/** The settings from the node's parameters (`locator`: a resource locator's value). */
export function fieldMappingSettings(
	table: string,
	node: string,
	parameter: (name: string, fallback: unknown, locator?: boolean) => unknown,
): FieldMappingSettings {
	const applyUpdatesAll = parameter('applyUpdatesAll', 'perField');
	const rows = ((parameter('fieldMappings', {}) as { mapping?: Array<Record<string, unknown>> })
		.mapping ?? []) as Array<Record<string, unknown>>;
	const advanced = parameter('advanced', {}) as Record<string, unknown>;
	const fields: FieldMapping[] = rows.map((row) => ({
		dynamicsField: String(row.dynamicsField ?? ''),
		campaignField: String(row.campaignField ?? ''),
		applyUpdates:
			applyUpdatesAll === 'allOn'
				? true
				: applyUpdatesAll === 'allOff'
					? false
					: row.applyUpdates !== false,
		...(row.linkedRecordKey ? { linkKey: String(row.linkedRecordKey) } : {}),
	}));
	return {
		node,
		chosenKey: String(parameter('dynamicsKey', '') ?? ''),
		mapping: {
			dynamicsTable: table,
			campaignResource: String(parameter('campaignResource', '', true) ?? '').trim(),
			campaignKey: parameter('campaignKey', undefined) as string,
			campaignKeyFilter: parameter('campaignKeyFilter', '') as string,
			campaignKeyUnique: parameter('campaignKeyUnique', false) === true,
			fields,
			useTechnicalValues: advanced.useTechnicalValues === true,
			applyDeletes: advanced.applyDeletes !== false,
		},
	};
}

/** The table pair and keys a mapping node has synced: fixed from then on (the spec's rule). */
export interface MappingLock {
	table: string;
	campaignResource: string;
	dynamicsKey: string;
	campaignKey: string;
}

const LOCK_FIELDS = ['table', 'campaignResource', 'dynamicsKey', 'campaignKey'] as const;

function unreadable(kind: StateKind<unknown>): SyncSettingsError {
	return new SyncSettingsError(`${kind.what} is unreadable. ${kind.reset}`);
}

/** Kept in the node's static data; locks stored before states had versions are version 1. */
export const MAPPING_LOCK: StateKind<MappingLock> = {
	key: 'mappingLock',
	version: 1,
	unversioned: 1,
	what: "Apply Field Mapping's saved tables and keys",
	reset:
		'Delete this chain of nodes and add a new mapping for the tables (its trigger starts a fresh initial load).',
	read(raw) {
		if (LOCK_FIELDS.some((k) => typeof raw[k] !== 'string')) throw unreadable(MAPPING_LOCK);
		const [table, campaignResource, dynamicsKey, campaignKey] = LOCK_FIELDS.map((k) => raw[k]);
		return { table, campaignResource, dynamicsKey, campaignKey } as MappingLock;
	},
};

/** Which mapping node maps each Dynamics table and each Campaign resource of the workflow. */
export interface TableClaims {
	dynamics: Record<string, string>;
	campaign: Record<string, string>;
}

function claimMap(value: unknown): Record<string, string> | undefined {
	if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
	const entries = Object.entries(value as StateBag);
	return entries.every(([, owner]) => typeof owner === 'string')
		? (Object.fromEntries(entries) as Record<string, string>)
		: undefined;
}

/** Kept in the workflow's static data, shared by its mapping nodes; unversioned ones are version 1. */
export const TABLE_CLAIMS: StateKind<TableClaims> = {
	key: 'tableMappings',
	version: 1,
	unversioned: 1,
	what: "The workflow's record of which Apply Field Mapping node maps which table",
	reset: 'Import the workflow again to start it over.',
	read(raw) {
		const dynamics = claimMap(raw.dynamics);
		const campaign = claimMap(raw.campaign);
		if (!dynamics || !campaign) throw unreadable(TABLE_CLAIMS);
		return { dynamics, campaign };
	},
};

export interface MappingState {
	lock?: MappingLock;
	claims?: TableClaims;
}

/**
 * Whether the node named `owner` still maps `value` in its parameter `parameter` (a claim of a
 * node deleted, renamed or set to another table is stale).
 */
export type StillClaims = (owner: string, parameter: string, value: string) => boolean;

export interface FieldMappingOutcome {
	/** Each input record: mapped, marked as failed, or as it came (already failed upstream). */
	records: SyncRecord[];
	/** Records this mapping failed. */
	failed: number;
	state: Required<MappingState>;
}

/** Tables and keys are read-only once the mapping has run: its Campaign data belongs to them. */
function checkLock(lock: MappingLock | undefined, mapping: TableMapping): void {
	if (!lock) return;
	const current = lockOf(mapping);
	const changed = LOCK_FIELDS.filter((k) => lock[k] !== current[k]);
	if (!changed.length) return;
	throw new SyncSettingsError(
		`This mapping has synced ${lock.table} → ${lock.campaignResource} (keys ${lock.dynamicsKey} → ${lock.campaignKey}); ${changed.join(', ')} cannot be changed afterwards`,
		undefined,
		'Set them back, or delete this chain of nodes and add a new mapping for the other tables (its trigger starts a fresh initial load).',
	);
}

function lockOf(mapping: TableMapping): MappingLock {
	return {
		table: mapping.dynamicsTable,
		campaignResource: mapping.campaignResource,
		dynamicsKey: mapping.dynamicsKey,
		campaignKey: mapping.campaignKey,
	};
}

/** Each Dynamics table and each Campaign resource can be mapped once per workflow (the spec's rule). */
function claimTables(
	prior: TableClaims | undefined,
	me: string,
	mapping: TableMapping,
	stillClaims: StillClaims,
): TableClaims {
	const claims: TableClaims = {
		dynamics: { ...prior?.dynamics },
		campaign: { ...prior?.campaign },
	};
	const checks: Array<[keyof TableClaims, string, string, string]> = [
		['dynamics', mapping.dynamicsTable, 'table', 'Microsoft Dynamics 365 table'],
		['campaign', mapping.campaignResource, 'campaignResource', 'Campaign table'],
	];
	for (const [side, value, parameter, what] of checks) {
		const owner = claims[side][value];
		if (owner && owner !== me && stillClaims(owner, parameter, value)) {
			throw new SyncSettingsError(
				`The ${what} "${value}" is already mapped by the node "${owner}" in this workflow`,
				undefined,
				'Each table can be mapped only once. Remove one of the two mappings, or map another table.',
			);
		}
	}
	for (const [side, value] of checks) claims[side][value] = me;
	return claims;
}

/**
 * Maps the records. Every settings problem throws before any record is mapped; a record that
 * cannot be mapped is marked and counted.
 */
export async function applyFieldMapping(
	clients: { dataverse: DataverseClient; campaign: CampaignClient },
	records: readonly SyncRecord[],
	settings: FieldMappingSettings,
	prior: MappingState,
	stillClaims: StillClaims,
): Promise<FieldMappingOutcome> {
	const { dataverse, campaign } = clients;
	const table = settings.mapping.dynamicsTable;
	const compile = async () =>
		await checkedAgainstFreshMetadata([dataverse, campaign], async () => {
			const tableInfo = await dataverse.getTable(table);
			const chosenKey = settings.chosenKey || tableInfo.primaryIdAttribute;
			if (chosenKey !== tableInfo.primaryIdAttribute) {
				throw new SyncSettingsError(
					`The Microsoft Dynamics 365 primary key of "${table}" is "${tableInfo.primaryIdAttribute}", not "${chosenKey}"`,
					undefined,
					'The primary key is detected from the table and cannot be chosen. Clear the setting: choose its one option, the detected key.',
				);
			}
			const mapping: TableMapping = {
				...settings.mapping,
				dynamicsKey: tableInfo.primaryIdAttribute,
			};
			checkLock(prior.lock, mapping);
			const [columns, campaignFields] = await Promise.all([
				syncColumns(dataverse, table),
				syncCampaignFields(campaign, mapping.campaignResource),
			]);
			// Every settings problem is reported here, before any record is written.
			return [mapping, compileMapping(mapping, columns, campaignFields)] as const;
		});
	let mapping: TableMapping;
	let compiled: CompiledMapping;
	const applyAll = (): Array<MappingResult | undefined> =>
		records.map((record) => (record._sync.error ? undefined : compiled.apply(record)));
	[mapping, compiled] = await compile();
	let results = applyAll();
	// Records that lack a mapped column may come from a Dynamics table that lost it since cached
	// metadata was read: the settings are checked again against metadata read now.
	const lacking = results.some((r, i) => r && !r.ok && !hasColumn(records[i], r.error.field));
	if (
		lacking &&
		[dataverse.forgetCachedMetadata(), campaign.forgetCachedMetadata()].includes(true)
	) {
		[mapping, compiled] = await compile();
		results = applyAll();
	}
	// Claimed only by settings that are valid: a refused mapping must not block a good one.
	const claims = claimTables(prior.claims, settings.node, mapping, stillClaims);

	let failed = 0;
	const out = records.map((record, i) => {
		const result = results[i];
		if (!result) return record;
		if (result.ok) return result.record;
		failed++;
		const marked = cloneRecord(record);
		marked._sync.target = compiled.target;
		marked._sync.error = {
			node: settings.node,
			message: result.error.message,
			field: result.error.field,
		};
		return marked;
	});
	return { records: out, failed, state: { lock: lockOf(mapping), claims } };
}
