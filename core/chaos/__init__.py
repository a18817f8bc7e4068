"""The chaos-theory parallel: the butterfly effect in training, the mean-field order-to-chaos phase diagram,
and Pascanu et al.'s cliff in a recurrent unit's loss landscape."""
