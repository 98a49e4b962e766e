import type { INodeParameters, IPollFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { CampaignClient } from '../../lib/campaign/client';
import type { DataverseClient, TableInfo } from '../../lib/dynamics/client';
import { inList } from '../../lib/dynamics/odata';
import type { KeyComparisonState } from '../../lib/sync/trigger-state';
import { campaignClient } from '../shared/clients';
import { campaignResourcePath } from '../shared/methods';
import { locatorValue } from '../shared/properties';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Campaign records per page of the comparison. */
const CAMPAIGN_PAGE = 500;
/** Dynamics ids asked about per request (each `contactid eq …` is about 60 characters of URL). */
const IDS_PER_QUERY = 50;

export interface KeyComparisonTarget {
	resource: string;
	key: string;
}

export interface KeyComparisonResult {
	/** Dynamics ids that Campaign holds and Dynamics answered it does not have. */
	missing: string[];
	state: KeyComparisonState;
	/** Campaign records looked at in this run. */
	checked: number;
}

function plain(parameter: unknown): string | undefined {
	const value = locatorValue(parameter);
	return typeof value === 'string' && value && !value.startsWith('=') ? value : undefined;
}

/**
 * The Campaign resource and key of the chain, read from the Apply Field Mapping node after this
 * trigger: the key holds the Dynamics id of each record the chain wrote.
 */
export function keyComparisonTarget(ctx: IPollFunctions): KeyComparisonTarget {
	const mappings =
		typeof ctx.getChildNodes === 'function'
			? ctx
					.getChildNodes(ctx.getNode().name, { includeNodeParameters: true })
					.filter((n) => !n.disabled && n.type.split('.').pop() === 'applyFieldMapping')
			: [];
	const targets = mappings.map((n) => ({
		resource: plain((n.parameters as INodeParameters | undefined)?.campaignResource),
		key: plain((n.parameters as INodeParameters | undefined)?.campaignKey),
	}));
	const target = targets[0];
	if (targets.length !== 1 || !target.resource || !target.key) {
		throw new NodeOperationError(
			ctx.getNode(),
			'Deletes Detection › Compare Keys needs exactly one Apply Field Mapping node after this trigger, with a fixed Campaign table and key',
			{
				description:
					'The comparison reads the keys of that Campaign table. Connect the chain, or set Deletes Detection to None.',
			},
		);
	}
	return { resource: target.resource, key: target.key };
}

export function isComparisonDue(
	state: KeyComparisonState | undefined,
	everyHours: number,
	now = Date.now(),
) {
	if (state?.nextHref) return true;
	if (!state?.finishedAt) return true;
	return now - new Date(state.finishedAt).getTime() >= everyHours * 3_600_000;
}

/**
 * One bounded step of comparing Campaign's keys with the Dynamics table: pages through the Campaign
 * records, asks Dynamics which of their ids exist, and returns the ones Dynamics answered it does
 * not have. An id is reported missing only on Dynamics' own answer: a key that is no Dynamics id,
 * or a failed request, is never a reason to delete.
 */
export async function compareKeys(
	ctx: IPollFunctions,
	dataverse: DataverseClient,
	table: TableInfo,
	target: KeyComparisonTarget,
	start: KeyComparisonState | undefined,
	shouldStop: (found: number) => boolean,
): Promise<KeyComparisonResult> {
	const campaign: CampaignClient = await campaignClient(ctx);
	const state: KeyComparisonState = start?.nextHref
		? { ...start }
		: {
				startedAt: new Date().toISOString(),
				...(start?.finishedAt ? { finishedAt: start.finishedAt } : {}),
			};
	const missing: string[] = [];
	let checked = 0;
	const pages = campaign.listPages(campaignResourcePath(target.resource), {
		lineCount: CAMPAIGN_PAGE,
		...(state.nextHref ? { nextHref: state.nextHref } : {}),
	});
	for await (const page of pages) {
		checked += page.records.length;
		const ids = [
			...new Set(
				page.records
					.map((r) => r[target.key])
					.filter((v): v is string => typeof v === 'string' && GUID.test(v))
					.map((v) => v.toLowerCase()),
			),
		];
		for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
			const chunk = ids.slice(i, i + IDS_PER_QUERY);
			const rows = await dataverse.query(table.logicalName, {
				select: [table.primaryIdAttribute],
				filter: inList(table.primaryIdAttribute, chunk, 'guid'),
				formattedValues: false,
			});
			const existing = new Set(rows.map((r) => String(r[table.primaryIdAttribute]).toLowerCase()));
			missing.push(...chunk.filter((id) => !existing.has(id)));
		}
		state.nextHref = page.nextHref;
		if (!page.nextHref) break;
		if (shouldStop(missing.length)) return { missing, state, checked };
	}
	delete state.nextHref;
	state.finishedAt = new Date().toISOString();
	return { missing, state, checked };
}
