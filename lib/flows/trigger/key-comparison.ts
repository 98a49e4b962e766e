/**
 * Deletes detection where the table is polled by modified date (which sees no deletes): Campaign's
 * keys are compared with the Dynamics table in bounded steps over the polls.
 */
import type { CampaignClient } from '../../campaign/client';
import { campaignResourcePath } from '../../campaign/client';
import type { DataverseClient, TableInfo } from '../../dynamics/client';
import { inList } from '../../dynamics/odata';
import type { KeyComparisonState } from '../../sync/trigger-state';
import { isGuid } from '../../sync/values';
import type { KeyComparisonTarget } from './chain';

/** Campaign records per page of the comparison. */
const CAMPAIGN_PAGE = 500;
/** Dynamics ids asked about per request (each `contactid eq …` is about 60 characters of URL). */
const IDS_PER_QUERY = 50;

export interface KeyComparisonResult {
	/** Dynamics ids that Campaign holds and Dynamics answered it does not have. */
	missing: string[];
	state: KeyComparisonState;
	/** Campaign records looked at in this run. */
	checked: number;
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
	campaign: CampaignClient,
	dataverse: DataverseClient,
	table: TableInfo,
	target: KeyComparisonTarget,
	start: KeyComparisonState | undefined,
	shouldStop: (found: number) => boolean,
): Promise<KeyComparisonResult> {
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
					.filter((v): v is string => typeof v === 'string' && isGuid(v))
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
