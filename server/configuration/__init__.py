"""What a site's and a device's settings may hold, what each means, and the reason a value is refused.

Used by the administration forms (dashboard.admin) and by `luot config import` so that both refuse the same
values with the same words. No Flask here: reasons are English msgids with {params}, translated at the edge.
"""
