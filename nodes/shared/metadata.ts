// Moved to the flows' layer; nodes that still import these from here keep working.
export {
	checkedAgainstFreshMetadata,
	syncCampaignFields,
	syncColumns,
} from '../../lib/flows/metadata';
export type { SyncColumnsOptions } from '../../lib/flows/metadata';
