"""`partilha diagram`: a picture of the whole centre (sites, nodes, VNets and their guests, the
front door and the declared flows) as Graphviz's dot lays it out."""
