"""The Tagging API's pages as AWS cuts them (docs/aws-behaviour.md rule 47).

AWS cuts a GetResources page at ResourcesPerPage resources (1 to 100), or at TagsPerPage tags
(100 to 500) when a request asks for that instead (AWS recommends ResourcesPerPage); moto also
applies a TagsPerPage of 100 that nobody asked for, so a page of tables with five tags each
holds 20 of them, not the 100 asked for. `install()` patches moto's handler once: TagsPerPage
limits a page only when the request gives it.
"""

_installed = False


def install():
    global _installed
    if _installed:
        return
    from moto.resourcegroupstaggingapi import responses

    cls = responses.ResourceGroupsTaggingAPIResponse
    original = cls.get_resources

    def get_resources(self):
        if self._get_param("TagsPerPage") is not None:
            return original(self)
        resources_per_page = self._get_int_param("ResourcesPerPage", 50)
        if resources_per_page not in range(1, 101):
            return original(self)  # moto's own refusal
        token, found = self.backend.get_resources(
            pagination_token=self._get_param("PaginationToken"),
            tag_filters=self._get_param("TagFilters", []),
            resources_per_page=resources_per_page,
            tags_per_page=10**9,
            resource_type_filters=self._get_param("ResourceTypeFilters", []),
            resource_arn_list=self._get_param("ResourceARNList", []),
        )
        return responses.ActionResult({
            "ResourceTagMappingList": [
                {"ResourceARN": r.arn, "Tags": [{"Key": k, "Value": v} for k, v in r.tags.items()]} for r in found
            ],
            "PaginationToken": token,
        })

    cls.get_resources = get_resources
    _installed = True
