"""The declarative model of a project: what its YAML files may say (pydantic).

This layer sits between the domain and the packages that run a project
(bots, nlu, workflows): they all read the same parsed specification and
know nothing of each other.
"""
