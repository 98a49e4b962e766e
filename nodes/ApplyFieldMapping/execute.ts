import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { cloneRecord } from '../../lib/sync/envelope';
import {
	compileMapping,
	type CompiledMapping,
	type FieldMapping,
	type MappingResult,
	type TableMapping,
} from '../../lib/sync/mapping';
import { hasColumn } from '../../lib/sync/values';
import { campaignClient, dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { passedOn, readSyncInput, recordItem } from '../shared/items';
import { checkedAgainstFreshMetadata, syncCampaignFields, syncColumns } from '../shared/metadata';
import { locatorValue } from '../shared/properties';
import { checkTable, tableParameter } from '../shared/table';

/** The table pair and keys a mapping node has synced: fixed from then on (the spec's rule). */
interface MappingLock {
	table: string;
	campaignResource: string;
	dynamicsKey: string;
	campaignKey: string;
}

const LOCK_KEY = 'mappingLock';
const CLAIMS_KEY = 'tableMappings';

interface Claims {
	dynamics: Record<string, string>;
	campaign: Record<string, string>;
}

function readMapping(ctx: IExecuteFunctions, detectedKey: string): TableMapping {
	const applyUpdatesAll = ctx.getNodeParameter('applyUpdatesAll', 0, 'perField') as string;
	const rows = ((ctx.getNodeParameter('fieldMappings', 0, {}) as IDataObject).mapping ??
		[]) as IDataObject[];
	const advanced = ctx.getNodeParameter('advanced', 0, {}) as IDataObject;
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
		dynamicsTable: tableParameter(ctx),
		dynamicsKey: detectedKey,
		campaignResource: String(
			ctx.getNodeParameter('campaignResource', 0, '', { extractValue: true }) ?? '',
		).trim(),
		campaignKey: ctx.getNodeParameter('campaignKey', 0) as string,
		campaignKeyFilter: ctx.getNodeParameter('campaignKeyFilter', 0, '') as string,
		campaignKeyUnique: ctx.getNodeParameter('campaignKeyUnique', 0, false) === true,
		fields,
		useTechnicalValues: advanced.useTechnicalValues === true,
		applyDeletes: advanced.applyDeletes !== false,
	};
}

/** Tables and keys are read-only once the mapping has run: its Campaign data belongs to them. */
function checkLock(ctx: IExecuteFunctions, mapping: TableMapping): void {
	const lock = ctx.getWorkflowStaticData('node')[LOCK_KEY] as MappingLock | undefined;
	const current: MappingLock = {
		table: mapping.dynamicsTable,
		campaignResource: mapping.campaignResource,
		dynamicsKey: mapping.dynamicsKey,
		campaignKey: mapping.campaignKey,
	};
	if (!lock) return;
	const changed = (Object.keys(current) as Array<keyof MappingLock>).filter(
		(k) => lock[k] !== current[k],
	);
	if (!changed.length) return;
	throw new NodeOperationError(
		ctx.getNode(),
		`This mapping has synced ${lock.table} → ${lock.campaignResource} (keys ${lock.dynamicsKey} → ${lock.campaignKey}); ${changed.join(', ')} cannot be changed afterwards`,
		{
			description:
				'Set them back, or delete this chain of nodes and add a new mapping for the other tables (its trigger starts a fresh initial load).',
		},
	);
}

/** Does the node named `name` still map `value` in its parameter `parameter`? */
function stillClaims(ctx: IExecuteFunctions, name: string, parameter: string, value: string) {
	try {
		// evaluateExpression adds the leading "=" itself: one more would end up in the value.
		const current = ctx.evaluateExpression(
			`{{ $(${JSON.stringify(name)}).params[${JSON.stringify(parameter)}] }}`,
			0,
		);
		// A resource locator, or the plain name of a workflow written before the locators.
		return locatorValue(current) === value;
	} catch {
		return false; // the node was deleted or renamed: its claim is stale
	}
}

/** Each Dynamics table and each Campaign resource can be mapped once per workflow (the spec's rule). */
function claimTables(ctx: IExecuteFunctions, mapping: TableMapping): void {
	const global = ctx.getWorkflowStaticData('global');
	const claims = (global[CLAIMS_KEY] as Claims | undefined) ?? { dynamics: {}, campaign: {} };
	const me = ctx.getNode().name;
	const checks: Array<[keyof Claims, string, string, string]> = [
		['dynamics', mapping.dynamicsTable, 'table', 'Microsoft Dynamics 365 table'],
		['campaign', mapping.campaignResource, 'campaignResource', 'Campaign table'],
	];
	for (const [side, value, parameter, what] of checks) {
		const owner = claims[side][value];
		if (owner && owner !== me && stillClaims(ctx, owner, parameter, value)) {
			throw new NodeOperationError(
				ctx.getNode(),
				`The ${what} "${value}" is already mapped by the node "${owner}" in this workflow`,
				{
					description:
						'Each table can be mapped only once. Remove one of the two mappings, or map another table.',
				},
			);
		}
	}
	for (const [side, value] of checks) claims[side][value] = me;
	global[CLAIMS_KEY] = claims as unknown as IDataObject;
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const input = readSyncInput(this);
	const { records } = input;
	const table = tableParameter(this);
	checkTable(this, table, records);

	let compiled: CompiledMapping;
	let mapping: TableMapping;
	let results: Array<MappingResult | undefined>;
	try {
		const dataverse = await dataverseClient(this);
		const campaign = await campaignClient(this);
		const compile = async () =>
			await checkedAgainstFreshMetadata([dataverse, campaign], async () => {
				const tableInfo = await dataverse.getTable(table);
				const chosenKey =
					(this.getNodeParameter('dynamicsKey', 0, '') as string) || tableInfo.primaryIdAttribute;
				if (chosenKey !== tableInfo.primaryIdAttribute) {
					throw new NodeOperationError(
						this.getNode(),
						`The Microsoft Dynamics 365 primary key of "${table}" is "${tableInfo.primaryIdAttribute}", not "${chosenKey}"`,
						{
							description:
								'The primary key is detected from the table and cannot be chosen. Clear the setting: choose its one option, the detected key.',
						},
					);
				}
				const read = readMapping(this, tableInfo.primaryIdAttribute);
				checkLock(this, read);
				const [columns, campaignFields] = await Promise.all([
					syncColumns(dataverse, table),
					syncCampaignFields(campaign, read.campaignResource),
				]);
				// Every settings problem is reported here, before any record is written.
				return [read, compileMapping(read, columns, campaignFields)] as const;
			});
		const applyAll = () =>
			records.map(({ record }) => (record._sync.error ? undefined : compiled.apply(record)));
		[mapping, compiled] = await compile();
		results = applyAll();
		// Records that lack a mapped column may come from a Dynamics table that lost it since cached
		// metadata was read: the settings are checked again against metadata read now.
		const lacking = results.some(
			(r, i) => r && !r.ok && !hasColumn(records[i].record, r.error.field),
		);
		if (
			lacking &&
			[dataverse.forgetCachedMetadata(), campaign.forgetCachedMetadata()].includes(true)
		) {
			[mapping, compiled] = await compile();
			results = applyAll();
		}
		// Claimed only by settings that are valid: a refused mapping must not block a good one.
		claimTables(this, mapping);
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}

	const node = this.getNode().name;
	let failed = 0;
	const out = records.map(({ record, index }, i) => {
		const result = results[i];
		if (!result) return recordItem(record, index);
		if (result.ok) return recordItem(result.record, index);
		failed++;
		// The record travels on, marked, so Campaign Upsert reports it with the run's other outcomes.
		const marked = cloneRecord(record);
		marked._sync.target = compiled.target;
		marked._sync.error = { node, message: result.error.message, field: result.error.field };
		return recordItem(marked, index);
	});
	this.getWorkflowStaticData('node')[LOCK_KEY] = {
		table: mapping.dynamicsTable,
		campaignResource: mapping.campaignResource,
		dynamicsKey: mapping.dynamicsKey,
		campaignKey: mapping.campaignKey,
	} satisfies MappingLock as unknown as IDataObject;
	out.push(...passedOn(input, { mappingFailed: failed }));
	return [out];
}
