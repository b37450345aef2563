-- Reserved for the orchestrator v2 API's indexes; its queries use the
-- Data Index's indexes (0004) so far.
SELECT 1;
