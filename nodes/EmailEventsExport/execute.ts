import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { exportEmailEvents } from '../../lib/flows/events-export/flow';
import { readSettings } from '../../lib/flows/events-export/settings';
import { EXPORT_STATE } from '../../lib/flows/events-export/state';
import { loadState, saveState, type StateBag } from '../../lib/state/store';
import { campaignClient, dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { NodeOutput } from '../shared/outcomes';

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const staticData = this.getWorkflowStaticData('node') as StateBag;
	let result;
	try {
		const settings = readSettings((name, fallback, extractValue) =>
			this.getNodeParameter(name, 0, fallback, extractValue ? { extractValue } : undefined),
		);
		result = await exportEmailEvents({
			settings,
			dataverse: await dataverseClient(this),
			campaign: await campaignClient(this),
			input: settings.source === 'input' ? this.getInputData().map((item) => item.json) : [],
			state: settings.source === 'campaign' ? loadState(staticData, EXPORT_STATE) : undefined,
		});
	} catch (error) {
		// Nothing was advanced: the next run reads the same events again (writes are upserts).
		throw toNodeError(this.getNode(), error);
	}
	if (result.state) saveState(staticData, EXPORT_STATE, result.state);

	const output = new NodeOutput(this);
	for (const { item, result: json, error } of result.outcomes) {
		if (error === undefined) output.pass({ ...json }, item);
		else output.fail(error, { ...json }, item);
	}
	const { summary } = result;
	return output.finish({ ...summary }, 0, {
		total: summary.eventsRead + summary.retries.tried,
		what: 'email events could not be exported',
		after: result.failuresNote,
	});
}
