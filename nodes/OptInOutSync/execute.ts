import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import {
	idleSummary,
	readOptInOutSettings,
	runOptInOutCycle,
	type OptInOutCycle,
	type OptInOutSummary,
} from '../../lib/flows/opt-in-out/cycle';
import { OPT_IN_OUT_STATE } from '../../lib/flows/opt-in-out/state';
import { loadState, saveState } from '../../lib/state/store';
import { campaignClient, dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { NodeOutput } from '../shared/outcomes';

const asJson = (summary: OptInOutSummary) => summary as unknown as IDataObject;

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const out = new NodeOutput(this);
	let cycle: OptInOutCycle;
	try {
		const settings = readOptInOutSettings((name, fallback) =>
			this.getNodeParameter(name, 0, fallback),
		);
		const idle = idleSummary(settings.direction);
		if (idle) return out.finish(asJson(idle), 0, { total: 0, what: '' });
		const clients = {
			dynamics: await dataverseClient(this, { maxPageSize: settings.pageSize }),
			campaign: await campaignClient(this),
		};
		const staticData = this.getWorkflowStaticData('node');
		cycle = await runOptInOutCycle(settings, clients, loadState(staticData, OPT_IN_OUT_STATE));
		// Kept even when pairs failed: they are read again by the next cycle.
		saveState(staticData, OPT_IN_OUT_STATE, cycle.state);
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}

	const { records, summary } = cycle;
	for (const record of records) {
		const json = record as unknown as IDataObject;
		if (record.outcome === 'failed' && record.error !== undefined) {
			out.fail(record.error, json, 0, `contact ${record.contactid}: ${record.error}`);
		} else out.pass(json, 0);
	}
	const first = records.find((r) => r.outcome === 'failed');
	return out.finish(asJson(summary), 0, {
		total: records.length,
		what: 'contact(s) could not be synchronized',
		tail: `; the others were written. First: ${first?.error ?? ''}`,
	});
}
