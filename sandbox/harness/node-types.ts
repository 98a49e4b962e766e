import type { INodeType } from 'n8n-workflow';

import { ApplyFieldMapping } from '../../nodes/ApplyFieldMapping/ApplyFieldMapping.node';
import { CampaignUpsert } from '../../nodes/CampaignUpsert/CampaignUpsert.node';
import { DynamicsTrigger } from '../../nodes/DynamicsTrigger/DynamicsTrigger.node';
import { EmailEventsExport } from '../../nodes/EmailEventsExport/EmailEventsExport.node';
import { FieldReplacement } from '../../nodes/FieldReplacement/FieldReplacement.node';
import { OptInOutSync } from '../../nodes/OptInOutSync/OptInOutSync.node';
import { RecordFilter } from '../../nodes/RecordFilter/RecordFilter.node';

/** Every node of this package, by its type name. */
export function nodeTypes(): Record<string, INodeType> {
	return {
		dynamicsTrigger: new DynamicsTrigger(),
		recordFilter: new RecordFilter(),
		fieldReplacement: new FieldReplacement(),
		applyFieldMapping: new ApplyFieldMapping(),
		campaignUpsert: new CampaignUpsert(),
		emailEventsExport: new EmailEventsExport(),
		optInOutSync: new OptInOutSync(),
	};
}
