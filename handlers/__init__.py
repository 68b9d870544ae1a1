"""One module per capability. A handler takes a Request, its arguments and Services and returns a Reply.

Handlers never see Slack types; the router maps verbs to handlers from one table and
``dispatch.handle`` is the single error boundary.
"""
